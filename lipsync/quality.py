"""Objective lip-sync measures on a finished video (used by the tests and bench/).

Mouth opening per frame = inner-lip gap (mesh points 13-14) / inner mouth width (78-308), measured
with MediaPipe on the output itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .compose import lower_face_mask, mask_roi
from .face import FaceTrack
from .face import landmarks as L
from .face.analyse import FaceAnalyser
from .frames import iter_template_frames, pingpong_index
from .media import iter_video_frames, probe


def burst_mask(n_samples: int, rate: int, on_s: float = 0.8, off_s: float = 0.8,
               start_on: bool = True) -> np.ndarray:
    """Boolean per sample: True in the speech bursts, False in the silences between them."""
    t = np.arange(n_samples) / rate
    phase = np.mod(t, on_s + off_s)
    on = phase < on_s
    return on if start_on else ~on


def measure_openings(video: Path) -> np.ndarray:
    """Mouth opening of every frame of a video (NaN where no face is found)."""
    info = probe(video)
    out = []
    with FaceAnalyser() as fa:
        for frame in iter_video_frames(info, info.fps):
            pts, _, _ = fa.analyse(frame)
            out.append(float(L.mouth_opening(pts)) if pts is not None else np.nan)
    return np.array(out)


@dataclass(frozen=True)
class SyncScores:
    speech_mean: float
    silence_mean: float
    ratio: float
    correlation: float     #: best Pearson correlation of opening vs speech mask over the lags tried
    best_lag: int          #: frames; positive = mouth moves after the sound


def sync_scores(openings: np.ndarray, speech: np.ndarray, max_lag: int = 4) -> SyncScores:
    """Compare per-frame openings with a per-frame speech mask."""
    ok = np.isfinite(openings)
    sp, si = openings[ok & speech], openings[ok & ~speech]
    best, best_lag = -2.0, 0
    for lag in range(-max_lag, max_lag + 1):
        a = openings[max(lag, 0): openings.size + min(lag, 0)]
        b = speech[max(-lag, 0): speech.size + min(-lag, 0)].astype(float)
        m = np.isfinite(a)
        if m.sum() > 3 and a[m].std() > 0 and b[m].std() > 0:
            c = float(np.corrcoef(a[m], b[m])[0, 1])
            if c > best:
                best, best_lag = c, lag
    return SyncScores(float(sp.mean()), float(si.mean()), float(sp.mean() / max(si.mean(), 1e-6)),
                      best, best_lag)


def psnr_outside_lower_face(output: Path, template: Path, track: FaceTrack, fps: Fraction) -> float:
    """PSNR (dB) of the output against the template frames, outside the lower-face region."""
    out_info, tpl_info = probe(output), probe(template)
    n = int(round((out_info.duration or 0) * float(fps))) + 2
    index = pingpong_index(track.n_frames, n)
    se, count = 0.0, 0
    tpl = iter_template_frames(tpl_info, fps, index, Path(str(output) + ".spool"))
    for (src, ref), got in zip(tpl, iter_video_frames(out_info, fps)):
        keep = np.ones(ref.shape[:2], bool)
        if track.valid[src]:
            lm = track.landmarks[src]
            mw = float(np.linalg.norm(lm[L.MOUTH_RIGHT] - lm[L.MOUTH_LEFT]))
            roi, margin = mask_roi(lm, ref.shape, extra_down=0.6 * mw)
            keep[roi.slices] = lower_face_mask(lm, roi, margin, 0.6 * mw) == 0
        d = got.astype(np.float32) - ref.astype(np.float32)
        se += float((d[keep] ** 2).sum())
        count += int(keep.sum()) * 3
    mse = se / max(count, 1)
    return float(10 * np.log10(255 ** 2 / max(mse, 1e-12)))


# -- articulation measures against a real speaker (bench/bench_quality.py and tests) -----------------
MOUTH_CROP = (96, 64)      # canonical mouth crop (w, h) for frame-to-frame change: small, fixed size
CROP_EYE_DIST = 100.0      # eye distance (pixels) of that canonical frame


@dataclass
class MouthSeries:
    """Per frame of a video: mouth shape and appearance measured with MediaPipe (NaN = no face)."""

    opening: np.ndarray    #: inner-lip gap / eye distance
    width: np.ndarray      #: outer mouth-corner distance / eye distance
    change: np.ndarray     #: mean |difference| of the aligned grey mouth crop to the previous frame
    #: variance of the Laplacian of the mouth region at the video's resolution, over its grey variance
    sharpness: np.ndarray


def _eye_distance(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[L.EYE_OUTER_R] - lm[L.EYE_OUTER_L]))


def canonical_mouth(frame: np.ndarray, lm: np.ndarray, size: tuple[int, int] = MOUTH_CROP,
                    grey: bool = True, below_nose: float = 0.45) -> np.ndarray:
    """Mouth crop in a head-aligned frame (eyes level, fixed eye distance, centred ``below_nose`` eye
    distances under the nose): grey float32, or the colour pixels (``grey=False``, for pictures a person
    looks at)."""
    import cv2

    d = _eye_distance(lm)
    eye_l, eye_r = lm[L.EYE_OUTER_L], lm[L.EYE_OUTER_R]
    angle = np.arctan2(*(eye_r - eye_l)[::-1])
    s = CROP_EYE_DIST * size[0] / MOUTH_CROP[0] / max(d, 1e-6)
    # the mouth centre is taken from stable points (nose base) so lip motion does not move the crop
    centre = lm[L.NOSE_BASE].mean(axis=0) + np.array([-np.sin(angle), np.cos(angle)]) * below_nose * d
    c, si = np.cos(-angle) * s, np.sin(-angle) * s
    m = np.array([[c, -si, 0.0], [si, c, 0.0]])
    m[:, 2] = np.array(size) / 2 - m[:, :2] @ centre
    crop = cv2.warpAffine(frame, m, size, flags=cv2.INTER_AREA)  # crop first: cheap on a 1080p frame
    return crop if not grey else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)


def _mouth_sharpness(frame: np.ndarray, lm: np.ndarray) -> float:
    """Fine detail of the lips and the skin around them: variance of the Laplacian over the grey
    variance, leaving out the inside of the mouth (teeth and shadow change with the opening, not
    with the sharpness)."""
    import cv2

    pts = lm[L.UPPER_LIP_OUTER + L.LOWER_LIP_OUTER]
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    pw, ph = 0.2 * (x1 - x0), 0.3 * (y1 - y0) + 0.05 * (x1 - x0)
    ys = slice(max(0, int(y0 - ph)), int(y1 + ph) + 1)
    xs = slice(max(0, int(x0 - pw)), int(x1 + pw) + 1)
    grey = cv2.cvtColor(frame[ys, xs], cv2.COLOR_BGR2GRAY).astype(np.float32)
    if grey.size < 16:
        return np.nan
    inner = np.concatenate([lm[L.UPPER_LIP_INNER], lm[L.LOWER_LIP_INNER][::-1]]) - [xs.start, ys.start]
    keep = np.ones(grey.shape, np.uint8)
    cv2.fillPoly(keep, [np.round(inner).astype(np.int32)], 0)
    keep = cv2.erode(keep, np.ones((5, 5), np.uint8)) > 0  # also the lip edge right next to the gap
    lap = cv2.Laplacian(grey, cv2.CV_32F)
    return float(lap[keep].var() / max(grey[keep].var(), 1.0))


def measure_mouths(video: Path) -> MouthSeries:
    """Mouth opening, width, frame-to-frame change and sharpness of every frame of a video."""
    info = probe(video)
    cols: dict[str, list[float]] = {"opening": [], "width": [], "change": [], "sharpness": []}
    prev = None
    with FaceAnalyser() as fa:
        for frame in iter_video_frames(info, info.fps):
            lm, _, _ = fa.analyse(frame)
            if lm is None:
                for v in cols.values():
                    v.append(np.nan)
                prev = None
                continue
            d = _eye_distance(lm)
            crop = canonical_mouth(frame, lm)
            cols["opening"].append(float(np.linalg.norm(lm[L.LIP_TOP] - lm[L.LIP_BOTTOM])) / d)
            cols["width"].append(float(np.linalg.norm(lm[61] - lm[291])) / d)
            cols["change"].append(float(np.abs(crop - prev).mean()) if prev is not None else np.nan)
            cols["sharpness"].append(_mouth_sharpness(frame, lm))
            prev = crop
    return MouthSeries(**{k: np.array(v) for k, v in cols.items()})


def best_lag_correlation(a: np.ndarray, b: np.ndarray, use: np.ndarray | None = None,
                         max_lag: int = 2) -> tuple[float, int]:
    """Highest Pearson correlation of ``a`` against ``b`` shifted by up to ``max_lag`` frames, and
    that lag (positive = ``a`` moves after ``b``); ``use`` selects the frames of ``a`` that count."""
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    use = np.ones(n, bool) if use is None else use[:n]
    best, best_lag = np.nan, 0
    for lag in range(-max_lag, max_lag + 1):
        x = a[max(lag, 0): n + min(lag, 0)]
        y = b[max(-lag, 0): n + min(-lag, 0)]
        m = np.isfinite(x) & np.isfinite(y) & use[max(lag, 0): n + min(lag, 0)]
        if m.sum() > 5 and x[m].std() > 0 and y[m].std() > 0:
            c = float(np.corrcoef(x[m], y[m])[0, 1])
            if not best >= c:
                best, best_lag = c, lag
    return best, best_lag


SNAP_SHARE_OF_RANGE = 0.5  # a frame "snaps" when the opening turns by half its usual range within it


def snap_share(opening: np.ndarray) -> float:
    """Share of frames where the mouth snaps open and shut from one frame to the next: the opening's
    second difference above ``SNAP_SHARE_OF_RANGE`` of its 5-95 % range (real speakers: 1-12 %)."""
    span = np.nanpercentile(opening, 95) - np.nanpercentile(opening, 5)
    turns = np.abs(opening[2:] - 2 * opening[1:-1] + opening[:-2])
    ok = np.isfinite(turns)
    return float((turns[ok] > SNAP_SHARE_OF_RANGE * span).mean()) if ok.any() and span > 0 else 0.0
