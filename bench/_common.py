"""Helpers shared by the benchmark scripts (real media from ../shared/media, made-up long audio)."""
from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "media"
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


def run_child(code: str, *args: str) -> dict:
    """Run Python ``code`` in a fresh process; it prints one JSON line last. Adds its peak RSS."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
