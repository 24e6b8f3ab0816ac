"""Streaming decode: audio to 16 kHz mono float32, video to BGR frames at a constant frame rate."""
from __future__ import annotations

import logging
from fractions import Fraction
from typing import Iterator

import cv2
import numpy as np

from ..errors import MediaError
from . import ffmpeg
from .probe import MediaInfo

log = logging.getLogger("lipsync.media")

AUDIO_RATE = 16000
MIN_SIDE = 32
#: photos bigger than this (longest side) are scaled down: a 12-megapixel video helps nobody
MAX_STILL_SIDE = 1920


def even_size(width: int, height: int) -> tuple[int, int]:
    """H.264 4:2:0 needs even sizes: odd templates lose their last row/column."""
    return width - width % 2, height - height % 2


def check_frame_size(info: MediaInfo) -> tuple[int, int]:
    """The even output size for a template, or MediaError when it is too small to hold a face."""
    w, h = even_size(info.width, info.height)
    if w < MIN_SIDE or h < MIN_SIDE:
        raise MediaError("err.picture_too_small", file=info.path.name, size=f"{info.width}x{info.height}",
                         least=f"{MIN_SIDE}x{MIN_SIDE}")
    return w, h


def decode_audio_16k(info: MediaInfo) -> np.ndarray:
    """The first audio stream of a file as 16 kHz mono float32 in [-1, 1]."""
    name = info.path.name
    if not info.has_audio:
        raise MediaError("err.no_audio_track", file=name)
    proc = ffmpeg.run(["-v", "error", "-i", str(info.path), "-map", "0:a:0", "-vn", "-ac", "1",
                       "-ar", str(AUDIO_RATE), "-f", "f32le", "-"])
    samples = np.frombuffer(proc.stdout, dtype=np.float32)
    if proc.returncode != 0 and samples.size == 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MediaError("err.audio_undecodable", file=name, detail=err[-1] if err else "ffmpeg failed")
    if samples.size < AUDIO_RATE // 100:
        raise MediaError("err.audio_empty", file=name)
    return samples  # read-only view of ffmpeg's output: no second copy of a long recording


def read_still(info: MediaInfo) -> np.ndarray:
    """A still image as a BGR frame with even size, at most MAX_STILL_SIDE long (EXIF orientation applied)."""
    data = np.fromfile(str(info.path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:  # formats OpenCV lacks: let ffmpeg decode the first frame
        img = next(iter_video_frames(info, Fraction(1), max_frames=1), None)
    if img is None:
        raise MediaError("err.image_undecodable", file=info.path.name)
    h, w = img.shape[:2]
    if max(h, w) > MAX_STILL_SIDE:
        scale = MAX_STILL_SIDE / max(h, w)
        img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        h, w = img.shape[:2]
    ew, eh = even_size(w, h)
    if ew < MIN_SIDE or eh < MIN_SIDE:
        raise MediaError("err.picture_too_small", file=info.path.name, size=f"{w}x{h}", least=f"{MIN_SIDE}x{MIN_SIDE}")
    return np.ascontiguousarray(img[:eh, :ew])


def iter_video_frames(info: MediaInfo, fps: Fraction, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield BGR frames at a constant ``fps`` (variable frame rate is resampled), one at a time.

    Memory stays at one frame whatever the length. Raises MediaError if nothing can be decoded.
    """
    w, h = check_frame_size(info)
    vf = f"fps={fps.numerator}/{fps.denominator},crop={w}:{h}:0:0"
    args = ["-i", str(info.path), "-map", "0:v:0", "-an", "-sn", "-vf", vf]
    if max_frames is not None:
        args += ["-frames:v", str(max_frames)]
    args += ["-f", "rawvideo", "-pix_fmt", "bgr24", "-"]
    proc, err = ffmpeg.popen(args, stdout=True)
    size = w * h * 3
    count = 0
    try:
        while True:
            buf = _read_exact(proc.stdout, size)
            if buf is None:
                break
            count += 1
            yield np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.wait()
    if count == 0:
        tail = err.text().splitlines()
        raise MediaError("err.no_video_frame", file=info.path.name, detail=tail[-1] if tail else "ffmpeg")


def _read_exact(stream, size: int) -> bytearray | None:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = stream.readinto(view[got:])
        if not n:
            return None
        got += n
    return buf
