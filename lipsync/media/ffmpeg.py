"""The one place that starts ffmpeg (the binary shipped by imageio-ffmpeg; no system ffmpeg)."""
from __future__ import annotations

import functools
import logging
import subprocess
import threading
from collections import deque
from typing import Sequence

import imageio_ffmpeg

log = logging.getLogger("lipsync.ffmpeg")


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def run(args: Sequence[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run ffmpeg to completion (no shell) and return the completed process with bytes output."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    log.debug("ffmpeg %s", " ".join(args))
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


class StderrTail:
    """Drains a process's stderr in a thread (so the pipe never blocks) and keeps the last lines."""

    def __init__(self, stream, keep: int = 30):
        self._lines: deque[str] = deque(maxlen=keep)
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            self._lines.append(raw.decode("utf-8", "replace").rstrip())
        stream.close()

    def text(self) -> str:
        self._thread.join(timeout=5)
        return "\n".join(self._lines)


def popen(args: Sequence[str], *, stdin: bool = False, stdout: bool = False) -> tuple[subprocess.Popen, StderrTail]:
    """Start a streaming ffmpeg process; stderr is drained in the background."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *args]
    if stdin:
        cmd.remove("-nostdin")
    log.debug("ffmpeg (stream) %s", " ".join(args))
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    return proc, StderrTail(proc.stderr)
