"""Shared fixtures: real media from ../shared/media (skipped when absent) and small files made with ffmpeg."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile as sf

from lipsync import Settings, Studio
from lipsync.media import ffmpeg

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "media"
EXAMPLES = ROOT / "examples"


def shared(name: str) -> Path:
    """A file of ../shared/media, or skip the test with the reason."""
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"real test media not available: {path} (../shared/media is absent on this machine)")
    return path


def make(args: list[str], out: Path) -> Path:
    """Create a file with ffmpeg (raises on failure)."""
    proc = ffmpeg.run(["-v", "error", "-y", *args, str(out)])
    assert proc.returncode == 0, proc.stderr.decode()
    return out


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    base = tmp_path_factory.mktemp("lipsync")
    return Settings(outputs_dir=base / "outputs", data_dir=base / "data", checkpoints_dir=base / "ckpt",
                    engine="builtin")


@pytest.fixture(scope="session")
def service(settings) -> Studio:
    return Studio(settings)


@pytest.fixture(scope="session")
def burst_audio(tmp_path_factory) -> tuple[Path, float]:
    """8 s of real English speech cut into 0.8 s bursts and 0.8 s silences: (path, burst length)."""
    from lipsync.audio import load_audio
    from lipsync.quality import burst_mask

    src = load_audio(shared("a1_en_hdtf_radio34.wav"))
    x = src.samples[: 16000 * 8]
    out = tmp_path_factory.mktemp("burst") / "burst_speech.wav"
    sf.write(out, x * burst_mask(x.size, 16000), 16000)
    return out, 0.8


@pytest.fixture(scope="session")
def no_face_video(tmp_path_factory) -> Path:
    """A 2 s test pattern with no face in it."""
    out = tmp_path_factory.mktemp("noface") / "test_pattern.mp4"
    return make(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2", "-pix_fmt", "yuv420p"], out)


@pytest.fixture(scope="session")
def tone_wav(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tone") / "tone.wav"
    t = np.arange(16000 * 2) / 16000
    sf.write(out, 0.3 * np.sin(2 * np.pi * 220 * t), 16000)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_status(url: str, until, timeout: float = 300) -> dict:
    """Poll a job's status URL until ``until(status)`` holds."""
    deadline = time.time() + timeout
    status = None
    while time.time() < deadline:
        status = requests.get(url).json()
        if until(status):
            return status
        time.sleep(0.3)
    raise AssertionError(f"timed out; last status {status}")


def drop_files(page, box: str, paths: list[Path]) -> None:
    """Hand files to a Gradio file box (``#box``) as a drop would, and wait until each is listed as
    uploaded. The finished list labels each row with the file's name; its visible text splits the name
    into stem and extension, so only the transient "Uploading..." text would match the name as text."""
    page.locator(f"#{box} input[type=file]").set_input_files([str(p) for p in paths])
    for path in paths:
        page.locator(f"#{box} td.filename[aria-label='{path.name}']").first.wait_for(timeout=30_000)


def drop_audio(page, box: str, path: Path) -> None:
    """Hand a recording to a Gradio audio box (``#box``) and wait until its player is there (uploaded)."""
    page.locator(f"#{box} input[type=file]").set_input_files(str(path))
    page.locator(f"#{box} audio").first.wait_for(state="attached", timeout=30_000)


def start_app(tmp: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """Start the real app (``app.py``) on a free port with its data under ``tmp``; wait until it answers."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = open(tmp / f"app-{port}.out", "wb")  # a file, not a pipe: a full pipe would block the app
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--data", str(tmp / "data"),
                             "--outputs", str(tmp / "outputs"), *extra],
                            cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((tmp / f"app-{port}.out").read_text(errors="replace")[-3000:])
        try:
            if requests.get(url, timeout=2).status_code in (200, 401):
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("app did not start")


os.environ.setdefault("GLOG_minloglevel", "2")
