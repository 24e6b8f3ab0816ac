"""Helpers shared by the benchmark scripts (real media from ../shared/media, made-up long audio)."""
from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "1b2e28b"  # the last commit with the first-generation built-in engine (the "old" way)

# ../shared/media beside the project; LIPSYNC_SHARED_MEDIA points elsewhere (e.g. from a git worktree)
SHARED = Path(os.environ.get("LIPSYNC_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
sys.path.insert(0, str(ROOT))


def need(name: str) -> Path:
    path = SHARED / name
    if not path.is_file():
        sys.exit(f"bench needs {path} (../shared/media)")
    return path


def machine() -> str:
    import os
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {date.today()}"


def long_speech(seconds: float, out: Path) -> Path:
    """Real speech looped to ``seconds`` (16 kHz mono wav)."""
    from lipsync.audio import load_audio

    x = load_audio(need("a1_en_hdtf_radio34.wav")).samples
    reps = int(np.ceil(seconds * 16000 / x.size))
    sf.write(out, np.tile(x, reps)[: int(seconds * 16000)], 16000)
    return out


def child_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run_child(code: str, *args: str, cwd: Path = ROOT) -> dict:
    """Run Python ``code`` in a fresh process (importing ``lipsync`` from ``cwd``); it prints one JSON
    line last."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def baseline_worktree(commit: str, where: Path) -> Path:
    """A detached git worktree of ``commit`` (the old way, to run beside the new one)."""
    subprocess.run(["git", "worktree", "add", "--detach", str(where), commit], cwd=ROOT, check=True,
                   capture_output=True)
    return where


def remove_worktree(where: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT, capture_output=True)


def speech_frames(samples: np.ndarray, fps: float, n: int) -> np.ndarray:
    """Per video frame (of ``n`` at ``fps``): whether the 16 kHz speech ``samples`` are speaking there (the
    frames the articulation measures count)."""
    from lipsync.articulation import STEP_S
    from lipsync.audio import speech_activity

    vad = speech_activity(samples)[0]
    return vad[np.clip(((np.arange(n) + 0.5) / fps / STEP_S).astype(int), 0, max(vad.size - 1, 0))]
