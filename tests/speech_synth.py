"""Synthetic speech of known timing from espeak-ng (Debian): syllables spoken one by one, trimmed and
joined back to back, so the start of every syllable (its b/p/m closure) is known to the sample."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

RATE = 16000
TRIM_LEVEL = 0.02     # below this amplitude a syllable's head and tail count as silence


@dataclass(frozen=True)
class Syllables:
    path: Path
    starts: np.ndarray    #: seconds: where each syllable (after the first) begins
    ends: np.ndarray      #: seconds


def _speak(text: str, voice: str, out: Path) -> np.ndarray:
    subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(out), text], check=True,
                   capture_output=True)
    x, rate = sf.read(out, dtype="float32")
    x = librosa.resample(x, orig_sr=rate, target_sr=RATE)
    loud = np.flatnonzero(np.abs(x) > TRIM_LEVEL)
    return x[loud[0]:loud[-1] + 1]


def syllable_speech(words: list[str], voice: str, folder: Path, lead_silence: float = 0.4) -> Syllables:
    """``words`` spoken back to back after ``lead_silence`` s of silence and an open vowel."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (Debian package espeak-ng; the README's test command installs it)")
    parts = [np.zeros(int(lead_silence * RATE), np.float32)]
    starts, ends, t = [], [], lead_silence
    for i, w in enumerate(words):
        x = _speak(w, voice, folder / f"syl{i}.wav")
        starts.append(t)
        t += x.size / RATE
        ends.append(t)
        parts.append(x)
    parts.append(np.zeros(int(0.4 * RATE), np.float32))
    path = folder / f"speech_{voice}.wav"
    sf.write(path, np.concatenate(parts), RATE)
    return Syllables(path, np.array(starts), np.array(ends))
