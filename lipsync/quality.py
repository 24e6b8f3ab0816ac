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
from .face.analyse import FaceAnalyser
from .face import landmarks as L
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
