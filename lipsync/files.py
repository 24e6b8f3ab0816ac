"""Writing files so that a crash never leaves a half-written one under the real name."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temp_name(path: Path) -> Path:
    """The hidden temporary name ``.<name>.tmp`` beside ``path`` (start-up cleaning looks for these)."""
    return path.with_name("." + path.name + ".tmp")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one step, on error it is removed."""
    tmp = temp_name(Path(path))
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def mark_used(path: Path) -> None:
    """Set a cache file's time to now: housekeeping drops the ones not used for a while."""
    try:
        os.utime(path)
    except OSError:
        pass  # gone or read-only: the cache still works
