"""Probe a media file by its content with ffmpeg itself (imageio-ffmpeg ships no ffprobe)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..errors import MediaError
from . import ffmpeg

# Demuxers that mean "one still picture".
_IMAGE_FORMATS = re.compile(r"(_pipe|^image2)$")
_STREAM = re.compile(r"^\s*Stream #\d+:(\d+).*?: (Video|Audio): (.*)$")
_SIZE = re.compile(r"(?<![\dx])(\d{1,5})x(\d{1,5})(?![\dx])")


@dataclass(frozen=True)
class MediaInfo:
    """What ffmpeg says a file contains. Sizes are after rotation (as decoded frames come out)."""

    path: Path
    format_name: str
    duration: float | None
    has_video: bool
    has_audio: bool
    is_image: bool
    width: int = 0
    height: int = 0
    #: nominal frame rate (for variable-frame-rate input: the rate the output will have)
    fps: Fraction = Fraction(25)
    avg_fps: float | None = None
    rotation: int = 0
    video_codec: str = ""
    audio_codec: str = ""
    sample_rate: int = 0
    channels: str = ""

    @property
    def fps_float(self) -> float:
        return float(self.fps)


def _fps_fraction(value: float) -> Fraction:
    """29.97 -> 30000/1001, 25 -> 25/1."""
    for den in (1, 1001):
        num = round(value * den)
        if num and abs(num / den - value) < 0.006:
            return Fraction(num, den)
    return Fraction(value).limit_denominator(1001)


def _parse_video(desc: str) -> dict:
    out: dict = {"video_codec": desc.split(",")[0].split(" ")[0]}
    # drop parenthesised groups so "yuv420p(tv, bt709)" does not split the field list wrongly
    flat = re.sub(r"\([^()]*\)", "", desc)
    size = _SIZE.search(flat)
    if size:
        out["width"], out["height"] = int(size.group(1)), int(size.group(2))
    fps = re.search(r"([\d.]+)(k?) fps", flat)
    tbr = re.search(r"([\d.]+)(k?) tbr", flat)

    def val(m):
        return float(m.group(1)) * (1000 if m.group(2) else 1)

    avg = val(fps) if fps else None
    nominal = val(tbr) if tbr else avg
    if nominal is None or not (1 <= nominal <= 120):
        nominal = avg if avg and 1 <= avg <= 120 else 25.0
    out["avg_fps"] = avg
    out["fps"] = _fps_fraction(nominal)
    return out


def probe(path: str | Path) -> MediaInfo:
    """Read a file's streams with ``ffmpeg -i``. Raises MediaError naming the file when unreadable."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise MediaError("err.file_not_found", file=name)
    if path.stat().st_size == 0:
        raise MediaError("err.file_empty", file=name)
    proc = ffmpeg.run(["-i", str(path)], timeout=60)
    text = proc.stderr.decode("utf-8", "replace")
    fmt = re.search(r"^Input #0, (.+?), from ", text, re.M)
    if not fmt:
        reason = text.strip().splitlines()[-1] if text.strip() else "unknown format"
        if "Invalid data" in reason or "could not find" in reason.lower():
            raise MediaError("err.not_media", file=name)
        raise MediaError("err.unreadable", file=name, detail=reason)
    format_name = fmt.group(1)
    dur = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", text)
    duration = int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3)) if dur else None
    info: dict = {}
    has_video = has_audio = False
    for line in text.splitlines():
        m = _STREAM.match(line)
        if not m:
            continue
        kind, desc = m.group(2), m.group(3)
        if kind == "Video" and not has_video and "attached pic" not in desc:
            has_video = True
            info.update(_parse_video(desc))
        elif kind == "Audio" and not has_audio:
            has_audio = True
            info["audio_codec"] = desc.split(",")[0].split(" ")[0]
            sr = re.search(r"(\d+) Hz", desc)
            info["sample_rate"] = int(sr.group(1)) if sr else 0
            parts = [p.strip() for p in desc.split(",")]
            info["channels"] = parts[2] if len(parts) > 2 else ""
    rot = re.search(r"rotation of (-?[\d.]+) degrees", text) or re.search(r"rotate\s*:\s*(-?\d+)", text)
    rotation = int(round(float(rot.group(1)))) % 360 if rot else 0
    if rotation in (90, 270) and "width" in info:
        info["width"], info["height"] = info["height"], info["width"]
    is_image = has_video and bool(_IMAGE_FORMATS.search(format_name.split(",")[0]))
    return MediaInfo(path=path, format_name=format_name, duration=duration, has_video=has_video,
                     has_audio=has_audio, is_image=is_image, rotation=rotation, **info)
