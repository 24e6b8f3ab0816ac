"""The built-in engine's audio -> mouth step against real speakers, without rendering (fast: about a
minute). Used to tune the articulation constants and the selection weights; prints the previous
settings and the current ones side by side in the same run.

For every real clip (../shared/media gt_pairs, ref_pairs and the v* talking clips):

* targets: the audio's opening / width targets against the real mouth over the whole clip;
* selection: the first half's real mouths as the template's candidates (their measured opening and
  width), the second half's audio chooses among them (the engine's unit selection), and the chosen
  mouths are compared with the real second half. ``shape change`` is the chosen sequence's mean
  frame-to-frame opening change relative to the real one (jumps between unrelated mouths raise it).
  The engine then warps the chosen mouth toward the targets (``builtin.reach_beyond``), which this
  no-render bench does not model: the chosen columns are the selection alone (with the dearer joins
  the warp allows, the chosen width here reads 0.28 while the rendered width rose; bench_quality.py).

Correlations as in bench/bench_quality.py: speech frames only, best lag within 2 frames.

Usage: python bench/bench_targets.py [--cases NAME ...]
"""
from __future__ import annotations

import argparse
import contextlib
from dataclasses import dataclass, replace

import numpy as np
from _common import SHARED, machine, speech_frames

from lipsync import articulation as A
from lipsync.audio import load_audio
from lipsync.engines.mouth_bank import MouthBank
from lipsync.engines.mouth_select import SelectSettings, select_mouths
from lipsync.media import probe
from lipsync.quality import best_lag_correlation, measure_mouths

#: the constants before the 2026-11-24 tuning (what "old" means below)
OLD_ARTICULATION = {"OPENING_FROM_WIDTH": 0.0, "COUPLED_SCALE": 1.0, "DIP_CLOSURE_CONSONANT": 0.5,
                    "DIP_CLOSURE_STOP": 0.5}
OLD_SELECT = replace(SelectSettings(), opening_gain=1.0, w_width=0.6, width_gain=1.0, join=0.45, pose_free=0.0)
OLD_LEAD_S = 0.0


@dataclass
class Clip:
    name: str
    samples: np.ndarray
    fps: float
    opening: np.ndarray   #: real inner-lip gap / eye distance per frame
    width: np.ndarray     #: real mouth-corner distance / eye distance per frame


def load_clips(wanted: list[str] | None) -> list[Clip]:
    paths = sorted((SHARED / "gt_pairs").glob("*_gt.mp4")) + sorted((SHARED / "ref_pairs").glob("*_gt.mp4"))
    paths += sorted(p for p in SHARED.glob("v*.mp4") if "noaudio" not in p.name and "headmove" not in p.name)
    clips = []
    for path in paths:
        name = path.name.replace("_gt.mp4", "").replace(".mp4", "")
        if wanted and not any(w in name for w in wanted):
            continue
        sound = path.with_name(name + "_aud.mp3")
        truth = measure_mouths(path)
        clips.append(Clip(name, load_audio(sound if sound.is_file() else path).samples,
                          float(probe(path).fps), truth.opening, truth.width))
    return clips


@contextlib.contextmanager
def constants(values: dict):
    """Temporarily set module constants of ``lipsync.articulation``."""
    saved = {k: getattr(A, k) for k in values}
    for k, v in values.items():
        setattr(A, k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(A, k, v)


def targets(samples: np.ndarray, phones, fps: float, n: int, lead: float) -> A.MouthTargets:
    return A.frame_targets(A.articulation_steps(samples, phones), fps, n, lead)


def first_half_bank(clip: Clip, half: int) -> MouthBank:
    """The real first half's mouths as selection candidates (shape only: no pixels needed)."""
    ok = np.flatnonzero(np.isfinite(clip.opening[:half]) & np.isfinite(clip.width[:half]))
    z = np.zeros(ok.size, np.float32)
    return MouthBank(frames=ok, crops=[], origins=np.zeros((ok.size, 2)), to_ref=np.zeros((0, 3, 3)),
                     opening=clip.opening[ok].astype(np.float32), gap_ratio=z,
                     width=clip.width[ok].astype(np.float32), smile=z, teeth=z, yaw=z,
                     run_next=np.append(np.diff(ok) == 1, False), landmarks=np.zeros((ok.size, 468, 2), np.float32))


def measure(clip: Clip, cache: A.PhoneCache, lead: float, select: SelectSettings) -> dict[str, float]:
    n = clip.opening.size
    sp = speech_frames(clip.samples, clip.fps, n)
    whole = targets(clip.samples, cache.get(clip.samples), clip.fps, n, lead)
    half = n // 2
    rest = clip.samples[int(round(half / clip.fps * 16000)):]
    t2 = targets(rest, cache.get(rest), clip.fps, n - half, lead)
    bank = first_half_bank(clip, half)
    sel = select_mouths(bank, t2, np.zeros(n - half), 1.0, select)
    sp2 = speech_frames(rest, clip.fps, n - half)
    real2 = clip.opening[half:]
    return {
        "target open": best_lag_correlation(whole.openness, clip.opening, sp)[0],
        "target width": best_lag_correlation(whole.width, clip.width, sp)[0],
        "chosen open": best_lag_correlation(bank.opening[sel], real2, sp2)[0],
        "chosen width": best_lag_correlation(bank.width[sel], clip.width[half:], sp2)[0],
        "shape change": float(np.mean(np.abs(np.diff(bank.opening[sel])))
                              / np.nanmean(np.abs(np.diff(real2)))),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", nargs="*", default=None, help="only clips whose name contains one of these")
    args = ap.parse_args()
    print(f"audio -> mouth targets and mouth selection against real speakers, on {machine()}")
    clips = load_clips(args.cases)
    cache = A.PhoneCache(None, memory_items=64)
    rows: dict[str, list[dict]] = {"old": [], "new": []}
    for clip in clips:
        with constants(OLD_ARTICULATION):
            rows["old"].append(measure(clip, cache, OLD_LEAD_S, OLD_SELECT))
        rows["new"].append(measure(clip, cache, 0.0, SelectSettings()))
        line = "  ".join(f"{k} {rows['old'][-1][k]:5.2f} -> {rows['new'][-1][k]:5.2f}" for k in rows["new"][-1])
        print(f"  {clip.name:28s} {line}", flush=True)
    print(f"\nmeans over {len(clips)} clips")
    for label, r in rows.items():
        means = {k: float(np.nanmean([x[k] for x in r])) for k in r[0]} if r else {}
        print(f"  {label}: " + "  ".join(f"{k} {v:.3f}" for k, v in means.items()))


if __name__ == "__main__":
    main()
