"""Wav2Lip engine benchmarks with random weights of the official shapes (same cost as real ones).

1. End to end (decode, cached face analysis, mel, generator, blend, encode) at 512x512, output frames/s,
   next to generator-only frames/s; and in the same run a faithful re-creation of the official
   pipeline's approach (all frames in memory, fp32, batch 128, hard paste, AVI then mux) as baseline.
   Both use the same cached face boxes (the official S3FD detector alone runs ~1.35 frames/s here).
2. N templates x 1 audio in one process (mel once, model once) against N separate processes.

Usage: python bench/bench_wav2lip.py [--n 4]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from _common import ROOT, long_speech, machine, need

sys.path.insert(0, str(ROOT / "tests"))
from test_wav2lip import official_checkpoint  # noqa: E402  (random weights in the official layout)

from lipsync import JobOptions, Settings, Studio  # noqa: E402
from lipsync.audio import load_audio, wav2lip_mel, wav2lip_mel_window  # noqa: E402
from lipsync.engines.wav2lip.engine import face_boxes  # noqa: E402
from lipsync.engines.wav2lip.net import Wav2Lip  # noqa: E402
from lipsync.media import ffmpeg, iter_video_frames, probe  # noqa: E402
from lipsync.pipeline import template_fps  # noqa: E402

MANIFEST = ROOT.parent / "shared" / "reference" / "wav2lip" / "wav2lip_state_dict.json"


def official_like(tpl: Path, audio: Path, ckpt: Path, track, out: Path) -> float:
    """The official inference.py approach, re-created: returns output frames/s."""
    t0 = time.perf_counter()
    info = probe(tpl)
    frames = [f.copy() for f in iter_video_frames(info, info.fps)]         # all frames in memory
    a = load_audio(audio)
    mel = wav2lip_mel(a.samples)
    fps = float(info.fps)
    n = int(round(a.duration * fps))
    model = Wav2Lip()
    sd = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    model.load_state_dict({k.replace("module.", ""): v for k, v in sd.items()})
    model.eval()
    boxes = face_boxes(track.landmarks, track.valid, (track.width, track.height))
    h, w = frames[0].shape[:2]
    avi = out.with_suffix(".avi")
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"DIVX"), fps, (w, h))
    for s in range(0, n, 128):                                              # batch 128, fp32
        idx = list(range(s, min(n, s + 128)))
        src = [i % len(frames) for i in idx]
        faces = np.stack([cv2.resize(frames[i][boxes[i][1]:boxes[i][3], boxes[i][0]:boxes[i][2]], (96, 96))
                          for i in src]).astype(np.float32)
        masked = faces.copy()
        masked[:, 48:] = 0
        x = torch.from_numpy(np.concatenate([masked, faces], 3).transpose(0, 3, 1, 2) / 255.0).float()
        m = torch.from_numpy(np.stack([wav2lip_mel_window(mel, i, fps) for i in idx])[:, None])
        with torch.no_grad():
            pred = model(m, x).numpy().transpose(0, 2, 3, 1) * 255
        for i, p in zip(src, pred):
            f = frames[i].copy()
            x0, y0, x1, y1 = boxes[i]
            f[y0:y1, x0:x1] = cv2.resize(p.astype(np.uint8), (x1 - x0, y1 - y0))  # hard paste
            writer.write(f)
    writer.release()
    ffmpeg.run(["-v", "error", "-y", "-i", str(audio), "-i", str(avi), "-strict", "-2", "-q:v", "1", str(out)])
    return n / (time.perf_counter() - t0)


def generator_only(model: torch.nn.Module, bf16: bool, batch: int = 32, reps: int = 4) -> float:
    m = torch.randn(batch, 1, 80, 16)
    x = torch.rand(batch, 6, 96, 96).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        model(m, x)
        t = time.perf_counter()
        for _ in range(reps):
            model(m, x)
    return batch * reps / (time.perf_counter() - t)


JOB = r"""
import sys, time, json
from pathlib import Path
from lipsync import Studio, Settings, JobOptions
d, ckpt, audio, tpl = map(Path, sys.argv[1:5])
s = Studio(Settings(outputs_dir=d / "o", data_dir=d / "data", checkpoints_dir=ckpt, device="cpu"))
item = s.generate(audio, tpl, JobOptions(engine="wav2lip"))
assert item.status == "done", item.error
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4, help="templates for the batch comparison")
    args = ap.parse_args()
    if not MANIFEST.is_file():
        sys.exit(f"needs {MANIFEST}")
    manifest = json.loads(MANIFEST.read_text())["state_dict"]
    print(f"Wav2Lip benchmark (random weights) on {machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ckpt = tmp / "ckpt"
        ckpt.mkdir()
        official_checkpoint(manifest, ckpt / "wav2lip_gan.pth")
        tpl = need("v8_sadtalker_hdtf_katiehill.mp4")
        audio = long_speech(20, tmp / "speech20.wav")
        s = Studio(Settings(outputs_dir=tmp / "o", data_dir=tmp / "data", checkpoints_dir=ckpt, device="cpu"))
        engine = s.engines.get("wav2lip")
        print(f"  engine: {engine.device}, {'bf16 autocast' if engine.bf16 else 'fp32'}, batch {engine.batch_size}")
        s.generate(audio, tpl, JobOptions(engine="builtin"))  # analyse the template once (cached)
        t = time.perf_counter()
        item = s.generate(audio, tpl, JobOptions(engine="wav2lip"))
        ours = item.result.frames / (time.perf_counter() - t)
        assert item.status == "done", item.error
        gen = generator_only(engine.model, engine.bf16)
        info = probe(tpl)
        track = s.face_cache.peek(info, template_fps(info, JobOptions()))
        base = official_like(tpl, audio, ckpt / "wav2lip_gan.pth", track, tmp / "official.mp4")
        print(f"  end to end, 512x512, 20 s audio: {ours:6.1f} output frames/s (target >= 15); "
              f"generator only {gen:.1f} frames/s")
        print(f"  official approach re-created:    {base:6.1f} output frames/s; speed-up {ours / base:.2f}x")

        short = need("a5_zh_bus.wav")
        tpls = []
        for i in range(args.n):
            p = tmp / f"t{i}.mp4"
            ffmpeg.run(["-v", "error", "-y", "-ss", str(0.5 * i), "-i", str(tpl), "-t", "4", "-c:v", "libx264",
                        "-preset", "veryfast", "-c:a", "aac", str(p)])
            tpls.append(p)
        t = time.perf_counter()
        s2 = Studio(Settings(outputs_dir=tmp / "o2", data_dir=tmp / "d2", checkpoints_dir=ckpt, device="cpu"))
        b = s2.generate_batch([short], tpls, JobOptions(engine="wav2lip"))
        one = time.perf_counter() - t
        assert not b.failed, b.failed[0].error
        t = time.perf_counter()
        for i, p in enumerate(tpls):
            subprocess.run([sys.executable, "-c", JOB, str(tmp / f"sep{i}"), str(ckpt), str(short), str(p)],
                           check=True, cwd=ROOT, capture_output=True)
        sep = time.perf_counter() - t
        print(f"  {args.n} templates x 1 audio: one process {one:.1f} s, {args.n} processes {sep:.1f} s, "
              f"ratio {sep / one:.2f}x")


if __name__ == "__main__":
    main()
