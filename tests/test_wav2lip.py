"""Wav2Lip engine: architecture vs the official manifest, golden mel, checkpoint layouts, download
through a local stand-in for the Hugging Face hub, offline behaviour, and a real end-to-end run
with random weights of the right shapes."""
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT

from lipsync import JobOptions, Settings, Studio
from lipsync.audio import wav2lip_mel, wav2lip_mel_window
from lipsync.engines.wav2lip.net import Wav2Lip
from lipsync.engines.wav2lip.weights import WeightsSource, ensure_weights, load_into, read_state_dict
from lipsync.errors import EngineError
from lipsync.media import probe

REF = ROOT.parent / "shared" / "reference" / "wav2lip"


def ref_file(name: str) -> Path:
    path = REF / name
    if not path.is_file():
        pytest.skip(f"Wav2Lip reference facts not available: {path}")
    return path


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(ref_file("wav2lip_state_dict.json").read_text())["state_dict"]


def official_checkpoint(manifest: dict, path: Path, prefix: str = "module.", wrapped: bool = True,
                        seed: int = 0) -> Path:
    """A checkpoint in the official file layout, with random tensors of the manifest's shapes."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for key, spec in manifest.items():
        dtype = getattr(torch, spec["dtype"])
        if dtype.is_floating_point:
            t = torch.randn(spec["shape"], generator=g, dtype=dtype) * 0.05
            if key.endswith("running_var"):
                t = t.abs() + 1
        else:
            t = torch.zeros(spec["shape"], dtype=dtype)
        sd[prefix + key] = t
    obj = {"state_dict": sd, "optimizer": {"state": {}, "param_groups": []}, "global_step": 1, "global_epoch": 1} \
        if wrapped else sd
    torch.save(obj, path)
    return path


def test_state_dict_matches_the_official_manifest(manifest):
    sd = Wav2Lip().state_dict()
    assert set(sd) == set(manifest)
    for k, spec in manifest.items():
        assert list(sd[k].shape) == spec["shape"], k
        assert str(sd[k].dtype).replace("torch.", "") == spec["dtype"], k
    assert sum(p.numel() for p in Wav2Lip().parameters()) == 36_298_035


def test_forward_shapes_on_cpu():
    with torch.inference_mode():
        y = Wav2Lip().eval()(torch.randn(3, 1, 80, 16), torch.rand(3, 6, 96, 96))
    assert y.shape == (3, 3, 96, 96)
    assert 0 <= float(y.min()) and float(y.max()) <= 1


def test_golden_mel():
    x = np.load(ref_file("golden_input.npy"))
    golden = np.load(ref_file("golden_mel.npy"))
    mel = wav2lip_mel(x)
    assert mel.shape == golden.shape == (80, 81)
    assert np.abs(mel - golden).max() <= 1e-4


def test_mel_windows_follow_official_indexing():
    mel = np.arange(80 * 100, dtype=np.float32).reshape(80, 100)
    assert np.array_equal(wav2lip_mel_window(mel, 0, 25), mel[:, 0:16])
    assert np.array_equal(wav2lip_mel_window(mel, 10, 25), mel[:, 32:48])  # int(10 * 80 / 25)
    assert np.array_equal(wav2lip_mel_window(mel, 7, 30), mel[:, 18:34])   # int(7 * 80 / 30)
    assert np.array_equal(wav2lip_mel_window(mel, 40, 25), mel[:, -16:])   # past the end: last 16


@pytest.mark.parametrize("prefix,wrapped", [("module.", True), ("", True), ("", False), ("module.", False)])
def test_checkpoint_layouts_load(manifest, tmp_path, prefix, wrapped):
    path = official_checkpoint(manifest, tmp_path / "wav2lip.pth", prefix, wrapped)
    model = Wav2Lip()
    load_into(model, read_state_dict(path), path.name)
    key = "face_encoder_blocks.0.0.conv_block.0.weight"
    expected = torch.load(path, weights_only=True)
    expected = expected["state_dict"] if wrapped else expected
    assert torch.equal(model.state_dict()[key], expected[prefix + key])


def test_wrong_checkpoint_is_refused_with_the_keys(manifest, tmp_path):
    path = official_checkpoint(manifest, tmp_path / "bad.pth")
    sd = torch.load(path, weights_only=True)
    del sd["state_dict"]["module.output_block.1.bias"]
    sd["state_dict"]["module.extra.weight"] = torch.zeros(1)
    sd["state_dict"]["module.output_block.1.weight"] = torch.zeros(3, 16, 1, 1)
    torch.save(sd, path)
    with pytest.raises(EngineError) as e:
        load_into(Wav2Lip(), read_state_dict(path), path.name)
    msg = str(e.value)
    assert "bad.pth" in msg and "output_block.1.bias" in msg and "extra.weight" in msg
    assert "wrong shape" in msg and "(3, 16, 1, 1)" in msg
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(EngineError, match="junk.pth"):
        read_state_dict(tmp_path / "junk.pth")


class _Hub(BaseHTTPRequestHandler):
    """A stand-in for the hub's ``/<repo>/resolve/<revision>/<file>`` route, serving one file."""

    payload = b""
    requests: list = []

    def _headers(self):
        if "/resolve/" not in self.path:
            self.send_response(404)
            self.end_headers()
            return False
        self.send_response(200)
        self.send_header("X-Repo-Commit", "a" * 40)
        self.send_header("ETag", '"' + hashlib.sha256(self.payload).hexdigest() + '"')
        self.send_header("Content-Length", str(len(self.payload)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        return True

    def do_HEAD(self):
        type(self).requests.append(("HEAD", self.path))
        self._headers()

    def do_GET(self):
        type(self).requests.append(("GET", self.path))
        if self._headers():
            self.wfile.write(self.payload)

    def log_message(self, *args):
        pass


@pytest.fixture()
def hub(manifest, tmp_path):
    path = official_checkpoint(manifest, tmp_path / "served.pth")
    _Hub.payload = path.read_bytes()
    _Hub.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_once_from_the_hub(hub, tmp_path):
    source = WeightsSource(repo_id="someone/Wav2Lip", filename="checkpoints/wav2lip_gan.pth", endpoint=hub)
    ckpt = tmp_path / "checkpoints"
    path = ensure_weights(ckpt, source)
    assert path == ckpt / "wav2lip_gan.pth"
    assert path.read_bytes() == _Hub.payload
    assert any(p.endswith("/someone/Wav2Lip/resolve/main/checkpoints/wav2lip_gan.pth") for _, p in _Hub.requests)
    n = len(_Hub.requests)
    assert ensure_weights(ckpt, source) == path
    assert len(_Hub.requests) == n  # present: no second download
    load_into(Wav2Lip(), read_state_dict(path), path.name)


def test_offline_gives_a_clear_message(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(EngineError, match="wav2lip_gan.pth.*checkpoints"):
        ensure_weights(tmp_path / "checkpoints", WeightsSource())


def test_unreachable_hub_gives_a_clear_message(tmp_path):
    source = WeightsSource(endpoint="http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(EngineError, match="Could not download.*wav2lip_gan.pth"):
        ensure_weights(tmp_path / "checkpoints", source)


def test_app_keeps_working_without_weights(tmp_path, monkeypatch):
    """No weights and no network: Wav2Lip is refused before anything starts, in plain words saying how
    to install it; nothing is recorded; the built-in engine still works."""
    from conftest import shared
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    service = Studio(Settings(outputs_dir=tmp_path / "o", data_dir=tmp_path / "d", checkpoints_dir=tmp_path / "c"))
    audio, tpl = shared("a5_zh_bus.wav"), shared("p3_sadtalker_people0.png")
    with pytest.raises(EngineError, match="not installed.*python -m lipsync.download"):
        service.generate(audio, tpl, JobOptions(engine="wav2lip"))
    assert service.history().empty
    good = service.generate(audio, tpl, JobOptions(engine="builtin"))
    assert good.status == "done"


def test_wav2lip_is_available_once_its_weights_are_there(tmp_path, monkeypatch, manifest):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    settings = Settings(outputs_dir=tmp_path / "o", data_dir=tmp_path / "d", checkpoints_dir=tmp_path / "c")
    studio = Studio(settings)
    with pytest.raises(EngineError):
        studio.options("wav2lip")
    settings.checkpoints_dir.mkdir()
    torch.save({"state_dict": Wav2Lip().state_dict()}, settings.checkpoints_dir / "wav2lip_gan.pth")
    assert studio.options("wav2lip").engine == "wav2lip"


@pytest.mark.slow
def test_end_to_end_with_random_weights(manifest, tmp_path):
    from conftest import shared

    from lipsync.audio import load_audio
    from lipsync.compose import feather_margin, lower_face_mask
    from lipsync.engines.base import RenderJob
    from lipsync.frames import output_frame_count, pingpong_index
    from lipsync.pipeline import probe_template, render_frames, template_fps

    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    official_checkpoint(manifest, ckpt / "wav2lip_gan.pth")
    settings = Settings(outputs_dir=tmp_path / "o", data_dir=tmp_path / "d", checkpoints_dir=ckpt, device="cpu")
    service = Studio(settings)
    engine = service.engines.get("wav2lip")
    assert engine is service.engines.get("wav2lip")  # loaded once, kept
    assert next(engine.model.parameters()).device.type == "cpu"

    audio_path, tpl_path = shared("a5_zh_bus.wav"), shared("v4_retalk_face5.mp4")
    item = service.generate(audio_path, tpl_path, JobOptions(engine="wav2lip"))
    assert item.status == "done", item.error
    info = probe(item.output)
    assert (info.width, info.height) == (524, 524) and info.fps == 25 and info.has_audio
    assert item.result.frames == output_frame_count(load_audio(audio_path).duration, 25)

    # before encoding: pixels outside the landmark mask are the template's, inside they changed
    tpl = probe_template(tpl_path)
    audio = load_audio(audio_path)
    fps = template_fps(tpl, JobOptions())
    track = service.face_cache.get(tpl, fps)
    n = 20
    job = RenderJob(tpl, "x", track, audio, fps, n, pingpong_index(track.n_frames, n), JobOptions(), settings.cache_dir)
    changed = 0
    for f, out, patch in render_frames(engine, engine.prepare(job), job, tmp_path / "spool"):
        outside = np.ones(out.shape[:2], bool)
        if patch is not None:
            outside[patch.roi.slices] = lower_face_mask(f.landmarks, patch.roi, feather_margin(f.landmarks)) == 0
            changed += not np.array_equal(out, f.image)
        assert np.array_equal(out[outside], f.image[outside])
    assert changed == n


class _LimitedModel(torch.nn.Module):
    """The real generator, refusing (as a GPU would) more frames than ``limit`` at once."""

    def __init__(self, inner: torch.nn.Module, limit: int, seen: list[int]):
        super().__init__()
        self.inner, self.limit, self.seen = inner, limit, seen

    def forward(self, mels, faces):
        self.seen.append(len(faces))
        if len(faces) > self.limit:
            raise torch.OutOfMemoryError(f"test: more than {self.limit} frames")
        return self.inner(mels, faces)


def test_the_engine_decides_its_batch_and_out_of_memory_halves_only_that_job(manifest, tmp_path):
    from conftest import EXAMPLES

    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    official_checkpoint(manifest, ckpt / "wav2lip_gan.pth")
    studio = Studio(Settings(outputs_dir=tmp_path / "o", data_dir=tmp_path / "d", checkpoints_dir=ckpt,
                             device="cpu", min_free_gb=0))
    engine = studio.engines.get("wav2lip")
    engine.batch_size = 40  # as if GPU memory allowed 40 frames (the pipeline used to cut at 16)
    inner, handed, forwards = engine.model, [], []
    render = engine.render
    engine.render = lambda state, frames: (handed.append(len(frames)), render(state, frames))[1]
    options = studio.options("wav2lip", qc=False)

    engine.model = _LimitedModel(inner, 12, forwards)
    item = studio.generate(EXAMPLES / "demo_speech.wav", EXAMPLES / "demo_face.png", options)
    assert item.status == "done", item.error
    assert handed[0] == 40 and max(handed) == 40  # the engine's batch, not a global 16
    assert forwards[:3] == [40, 20, 10] and max(forwards[3:]) <= 10  # halved for this job, then kept there
    assert engine.batch_size == 40  # the shared size is untouched: only that job went on with 10

    forwards.clear()
    engine.model = _LimitedModel(inner, 1000, forwards)  # memory is back
    assert studio.generate(EXAMPLES / "demo_speech.wav", EXAMPLES / "demo_face.png", options).status == "done"
    assert forwards[0] == 40  # the next job starts from the memory-based size again

    engine.model = _LimitedModel(inner, 0, [])  # not even one frame fits: the job fails, clearly
    failed = studio.generate(EXAMPLES / "demo_speech.wav", EXAMPLES / "demo_face.png", options)
    assert failed.status == "failed" and failed.error.key == "err.gpu_oom"
