"""Which template frame each output frame shows, and streaming them in that order."""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import MediaError
from .media import MediaInfo, iter_video_frames, read_still


def output_frame_count(audio_seconds: float, fps: float) -> int:
    """The output is as long as the audio, to within one frame."""
    return max(1, int(round(audio_seconds * fps)))


def pingpong_index(n_template: int, n_out: int) -> np.ndarray:
    """Template frame for each output frame: forward, then backward, then forward... (no jump).

    A template longer than needed is simply cut.
    """
    j = np.arange(n_out)
    if n_template <= 1:
        return np.zeros(n_out, dtype=np.int64)
    period = 2 * n_template - 2
    k = j % period
    return np.where(k < n_template, k, period - k).astype(np.int64)


def iter_template_frames(info: MediaInfo, fps: Fraction, frame_index: np.ndarray,
                         spool_path: Path) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(template_index, frame)`` for every output frame, decoding the template once.

    When the template has to play backwards (it is shorter than the audio), the first pass writes
    each decoded frame to a raw spool file; later passes read frames back from it by position, so
    memory holds one frame whatever the lengths.
    """
    if info.is_image:
        still = read_still(info)
        for i in frame_index:
            yield int(i), still
        return
    n_needed = int(frame_index.max()) + 1 if frame_index.size else 0
    decoder = iter_video_frames(info, fps, max_frames=n_needed)
    if frame_index.size == 0 or np.array_equal(frame_index, np.arange(frame_index.size)):
        for i, frame in zip(frame_index, decoder):
            yield int(i), frame
        return
    spool_path.parent.mkdir(parents=True, exist_ok=True)
    decoded, frame_bytes, last = 0, 0, None
    try:
        with open(spool_path, "w+b") as spool:
            for i in frame_index:
                i = int(i)
                while decoded <= i:
                    last = next(decoder, None)
                    if last is None:
                        raise MediaError("err.video_ended_early", file=info.path.name, frame=decoded,
                                         frames=n_needed)
                    frame_bytes = last.nbytes
                    spool.seek(decoded * frame_bytes)
                    spool.write(memoryview(last).cast("B"))
                    decoded += 1
                if i == decoded - 1:
                    yield i, last
                    continue
                spool.seek(i * frame_bytes)
                buf = spool.read(frame_bytes)
                yield i, np.frombuffer(buf, dtype=np.uint8).reshape(last.shape)
    finally:
        decoder.close()
        try:
            os.unlink(spool_path)
        except FileNotFoundError:
            pass
