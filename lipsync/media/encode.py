"""Encode BGR frames to H.264 and mux the job's audio, written under a temporary name."""
from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import OutputError
from . import ffmpeg

log = logging.getLogger("lipsync.media")

PARTIAL_SUFFIX = ".partial.mp4"


def partial_path(final: Path) -> Path:
    """Where a result is written until it is complete (never listed as a result)."""
    return final.with_name("." + final.stem + PARTIAL_SUFFIX)


class VideoWriter:
    """Streams frames into ffmpeg (libx264 yuv420p + AAC, ``+faststart``); renames when complete.

    Use as a context manager: on an exception the partial file is removed, on success
    ``close()`` renames it to ``final``.
    """

    def __init__(self, final: Path, size: tuple[int, int], fps: Fraction, audio: Path,
                 duration: float, crf: int = 18, preset: str = "veryfast"):
        self.final = Path(final)
        self.tmp = partial_path(self.final)
        self.size = size
        self.frames = 0
        w, h = size
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            # fail early and clearly when the folder is not writable
            self.tmp.touch()
        except OSError as e:
            raise OutputError("err.output_folder", folder=str(self.final.parent), detail=e.strerror or str(e)) from e
        args = [
            "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}",
            "-r", f"{fps.numerator}/{fps.denominator}", "-i", "-",
            "-i", str(audio),
            "-map", "0:v:0", "-map", "1:a:0",
            "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "192k",
            "-t", f"{duration:.4f}", "-movflags", "+faststart", "-f", "mp4", str(self.tmp),
        ]
        self._proc, self._err = ffmpeg.popen(args, stdin=True)

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR frame of the writer's size."""
        try:
            self._proc.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
        except (BrokenPipeError, OSError) as e:
            self._fail(e)
        self.frames += 1

    def _fail(self, cause: Exception | None = None):
        self.abort()
        text = self._err.text()
        if "No space left" in text:
            raise OutputError("err.disk_full", file=self.final.name) from cause
        last = text.strip().splitlines()[-1] if text.strip() else str(cause)
        raise OutputError("err.encoding_failed", file=self.final.name, detail=last) from cause

    def close(self) -> Path:
        """Finish encoding and move the file to its final name. Returns the final path."""
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        if self._proc.wait() != 0:
            self._fail()
        try:
            os.replace(self.tmp, self.final)
        except OSError as e:
            self.abort()
            raise OutputError("err.output_file", file=self.final.name, detail=e.strerror or str(e)) from e
        return self.final

    def abort(self) -> None:
        """Stop ffmpeg and remove the partial file."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        try:
            self.tmp.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
