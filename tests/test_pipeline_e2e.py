"""End to end on real media: the built-in engine, service API and CLI."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT, make, shared

from lipsync import JobOptions, quality
from lipsync.audio import load_audio
from lipsync.engines.base import RenderJob
from lipsync.frames import output_frame_count, pingpong_index
from lipsync.media import decode_audio_16k, iter_video_frames, probe
from lipsync.pipeline import probe_template, render_frames, template_fps

pytestmark = pytest.mark.slow


def check_output(path: Path, audio: Path, size: tuple[int, int], fps: float):
    """Duration = audio (within a frame), constant fps, size, and the audio's content unchanged."""
    info = probe(path)
    a = load_audio(audio)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert (info.width, info.height) == size
    assert float(info.fps) == pytest.approx(fps, abs=0.01)
    n = sum(1 for _ in iter_video_frames(info, info.fps))
    assert abs(n - a.duration * fps) <= 1
    out_audio = decode_audio_16k(info)
    assert abs(out_audio.size - a.samples.size) / 16000 <= 1 / fps + 0.05
    m = min(out_audio.size, a.samples.size) - 800
    corr = max(np.corrcoef(a.samples[400:400 + m], out_audio[400 + k:400 + k + m])[0, 1]
               for k in range(-320, 321, 2) if 400 + k + m <= out_audio.size and 400 + k >= 0)
    assert corr > 0.95


def burst_speech_mask(n: int, fps: float, burst: float) -> np.ndarray:
    t = (np.arange(n) + 0.5) / fps
    return np.mod(t, 2 * burst) < burst


def assert_quality(service, item, template: Path, burst: float):
    openings = quality.measure_openings(item.output)
    speech = burst_speech_mask(openings.size, item.result.fps, burst)
    scores = quality.sync_scores(openings, speech)
    assert scores.ratio >= 2.0, scores
    # the mouth also closes on consonants inside the bursts (articulation, checked against speech of
    # known timing in test_articulation.py), so it follows an on/off speech mask less than loudness did
    assert scores.correlation >= 0.45, scores
    assert abs(scores.best_lag) <= 1, scores
    info = probe_template(template)
    fps = template_fps(info, JobOptions())
    psnr = quality.psnr_outside_lower_face(item.output, template, service.face_cache.peek(info, fps), fps)
    assert psnr >= 38.0


def test_talking_template_follows_bursts(service, burst_audio):
    audio, burst = burst_audio
    tpl = shared("v4_retalk_face5.mp4")
    item = service.generate(audio, tpl)
    assert item.status == "done", item.error
    assert item.result.mode == "reuse"
    check_output(item.output, audio, (524, 524), 25)  # 8 s audio > 4.9 s template: ping-pong
    assert_quality(service, item, tpl, burst)


def test_still_photo_follows_bursts(service, burst_audio):
    audio, burst = burst_audio
    tpl = shared("p3_sadtalker_people0.png")
    item = service.generate(audio, tpl)
    assert item.status == "done", item.error
    assert item.result.mode == "warp"
    check_output(item.output, audio, (474, 474), 25)
    assert_quality(service, item, tpl, burst)


def _lower_face_region(lm: np.ndarray, shape) -> np.ndarray:
    """Independent of the implementation's mask: the face below the eye line, plus room for a
    jaw that opens (half a face width below the chin), widened by a tenth of a face width; never the
    eyes, the forehead, the hair above them or the background beside the face."""
    import cv2

    from lipsync.face import landmarks as L

    fw = float(L.face_width(lm))
    eyes_bottom = float(lm[[33, 133, 362, 263], 1].mean())  # the line through the eye corners
    pts = np.concatenate([lm[lm[:, 1] > eyes_bottom], lm[L.JAW] + [0, 0.5 * fw]])
    region = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(region, cv2.convexHull(np.round(pts).astype(np.int32)), 1)
    k = int(0.1 * fw) * 2 + 1
    region = cv2.dilate(region, np.ones((k, k), np.uint8)) > 0
    region[: int(np.ceil(eyes_bottom))] = False
    return region


def test_pixels_outside_the_mask_are_untouched(service, settings, tmp_path):
    """Before encoding, every output pixel outside the lower face equals the template's."""
    tpl = probe_template(shared("v8_sadtalker_hdtf_katiehill.mp4"))
    audio = load_audio(shared("a5_zh_bus.wav"))
    fps = template_fps(tpl, JobOptions())
    track = service.face_cache.get(tpl, fps)
    n = output_frame_count(audio.duration, float(fps))
    engine = service.engines.get("builtin")
    job = RenderJob(tpl, "x", track, audio, fps, n, pingpong_index(track.n_frames, n), JobOptions(),
                    settings.cache_dir)
    state = engine.prepare(job)
    changed_frames = 0
    for f, out, _ in render_frames(engine, state, job, tmp_path / "spool.raw"):
        outside = ~_lower_face_region(f.landmarks, out.shape) if f.landmarks is not None else \
            np.ones(out.shape[:2], bool)
        changed_frames += not np.array_equal(out, f.image)
        assert np.array_equal(out[outside], f.image[outside])
    # unit selection may play the template's own mouth where it already fits the audio (unchanged frame)
    assert changed_frames > n * 0.5


def test_foreign_language_audio_and_shorter_audio_cuts_template(service):
    audio = shared("a5_zh_bus.wav")  # 3.4 s Chinese, template 6.6 s
    item = service.generate(audio, shared("v3_retalk_face4.mp4"))
    assert item.status == "done", item.error
    check_output(item.output, audio, (700, 700), 30)


def test_variable_frame_rate_template(service):
    audio = shared("a2_en_retalk1.wav")
    item = service.generate(audio, shared("v1_retalk_face1.mp4"))
    assert item.status == "done", item.error
    check_output(item.output, audio, (700, 700), 30)


def test_portrait_1080p_head_turns_downscaled(service, tmp_path):
    small = make(["-i", str(shared("v5_latentsync_demo2_1080p.mp4")), "-t", "4", "-vf", "scale=540:960",
                  "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"], tmp_path / "portrait.mp4")
    audio = shared("a5_zh_bus.wav")
    item = service.generate(audio, small)
    assert item.status == "done", item.error
    check_output(item.output, audio, (540, 960), 25)


def test_template_without_audio_stream(service, tmp_path):
    short = make(["-i", str(shared("v7_liveportrait_d13_720p_noaudio.mp4")), "-t", "3", "-vf", "scale=360:640",
                  "-c:v", "libx264", "-preset", "ultrafast"], tmp_path / "noaudio.mp4")
    audio = shared("a5_zh_bus.wav")
    item = service.generate(audio, short)
    assert item.status == "done", item.error
    check_output(item.output, audio, (360, 640), 30)


def test_batch_continues_after_bad_items_and_writes_manifest(service, no_face_video, tmp_path):
    text = tmp_path / "report.mp4"
    text.write_text("not a video")
    good = shared("p1_hallo6.jpg")
    audio = shared("a5_zh_bus.wav")
    seen = []
    analyses = service.face_cache.analyses
    batch = service.generate_batch([audio], [no_face_video, text, good],
                                   progress=lambda p: seen.append((p.item, p.stage)))
    analysed = service.face_cache.analyses > analyses  # "analysing" only when a template was not cached yet
    statuses = [i.status for i in batch.items]
    assert statuses == ["failed", "failed", "done"]
    assert "test_pattern.mp4" in str(batch.items[0].error) and "no face" in str(batch.items[0].error)
    assert "report.mp4" in str(batch.items[1].error)
    assert batch.folder.parent == service.settings.outputs_dir
    manifest = json.loads(batch.manifest.read_text())
    assert [i["status"] for i in manifest["items"]] == statuses
    assert manifest["items"][2]["output"] == "p1_hallo6__a5_zh_bus.mp4"
    assert (batch.folder / "p1_hallo6__a5_zh_bus.mp4").is_file()
    stages = {"checking", "lip-syncing", "done", "failed"} | ({"analysing"} if analysed else set())
    assert {s for _, s in seen} >= stages
    assert not list(batch.folder.glob(".*.partial.mp4"))


def test_bad_audio_fails_every_item_of_it(service, tmp_path):
    bad = tmp_path / "speech.wav"
    bad.write_bytes(b"RIFF0000WAVEfmt garbage")
    batch = service.generate_batch([bad, shared("a5_zh_bus.wav")], [shared("p3_sadtalker_people0.png")])
    assert [i.status for i in batch.items] == ["failed", "done"]
    assert "speech.wav" in str(batch.items[0].error)


def test_cli_demo_and_exit_codes(tmp_path, no_face_video):
    env_cmd = [sys.executable, "-m", "lipsync", "-q", "-a", str(EXAMPLES / "demo_speech.wav")]
    ok = subprocess.run(env_cmd + ["-v", str(EXAMPLES / "demo_face.png"), "-o", str(tmp_path / "ok")],
                        cwd=tmp_path, capture_output=True, text=True, timeout=600,
                        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert ok.returncode == 0, ok.stderr
    assert "1 done, 0 failed" in ok.stdout
    assert (tmp_path / "ok" / "demo_face__demo_speech.mp4").is_file()
    bad = subprocess.run(env_cmd + ["-v", str(no_face_video), "-o", str(tmp_path / "bad")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert bad.returncode == 1
    assert "failed" in bad.stdout and "no face" in bad.stdout
