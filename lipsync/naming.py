"""Readable, safe output names and batch folders."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from pathlib import Path

_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)


def safe_stem(name: str, limit: int = 60) -> str:
    """A file-name-safe version of a file's stem: letters of any script kept, no path parts."""
    stem = Path(name.replace("\\", "/")).name
    stem = Path(stem).stem if "." in stem else stem
    stem = unicodedata.normalize("NFC", stem)
    stem = _UNSAFE.sub("_", stem).strip("._") or "file"
    return stem[:limit]


def output_name(template: str, audio: str, taken: set[str]) -> str:
    """``<template>__<audio>.mp4``, made unique within a batch."""
    base = f"{safe_stem(template)}__{safe_stem(audio)}"
    name, n = f"{base}.mp4", 2
    while name in taken:
        name, n = f"{base}_{n}.mp4", n + 1
    taken.add(name)
    return name


def new_batch_dir(outputs: Path, now: datetime | None = None) -> Path:
    """Create ``outputs/YYYYMMDD_HHMMSS`` (with a suffix when two batches start in the same second)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d_%H%M%S")
    outputs.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = outputs / (stamp if n == 1 else f"{stamp}_{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot create a batch folder in {outputs}")
