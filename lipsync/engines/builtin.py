"""The built-in engine: lip-sync from the audio's phonetic content, without any downloaded weights.

Per output frame the audio gives a target mouth shape (opening, width, lip closure; silence = closed,
see ``articulation.py``). Then:

* **reuse** ("Video Rewrite"): when the template shows the person talking, unit selection picks for
  each frame a real mouth of the template (``mouth_select.py``), preferring runs of consecutive
  template frames; the crop is warped once into the frame at full resolution and feathered in. Where
  the audio asks for a wider-open mouth than the template ever shows (a short or quiet template), or
  for a wider or rounder one than the chosen mouth, the mouth warp adds the rest on top;
* **warp**: when the template has no usable open mouth (a still photo, closed lips), the lips and jaw
  are warped around the face mesh and the revealed interior is shaded from the face's own colours.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d, grey_erosion, uniform_filter1d

from ..articulation import MouthTargets, PhoneCache, mouth_targets
from ..compose import lower_face_mask, mask_roi
from ..config import Settings
from ..face import landmarks as L
from .base import FrameIn, Patch, RenderJob
from .mouth_bank import MouthBank, build_bank, candidate_landmarks, render_candidate
from .mouth_select import continuation, is_join, select_mouths
from .mouth_warp import GAP_PER_AMOUNT, warp_mouth, width_amount, width_change

log = logging.getLogger("lipsync.engines.builtin")

WARP_FULL_OPENING = 0.6     # inner-lip gap / mouth width for a fully open target (wide speech ~0.5)
BANKS_KEPT = 2              # mouth banks kept in memory (a batch cycles through templates in order)
COLOUR_SHIFT_MAX = 20.0     # largest brightness correction of a reused mouth (lighting drift only)
# share of a frame's own colour correction taken at once: lighting drifts slowly while the mean of the
# ring under the mask jitters with the chosen mouth (bench_quality: mouth change 1.39x -> 1.33x)
COLOUR_FOLLOW = 0.3
# frames over which the warp added to reused mouths is averaged: it follows the targets, not the jumps
# between the chosen mouths' own openings
REACH_SMOOTH = 3
# The warp follows the targets frame by frame, and unsmoothed they open and shut the mouth in a frame
# (a lone wide-open frame between closed ones): warped photos chattered three times as often as real
# speakers. Smoothed over about a frame and limited to this many openings per second, a closure still
# closes and the photo protocol of bench_quality keeps its opening r (0.50) while chattering halves.
WARP_SMOOTH_S = 0.04
WARP_MAX_SPEED = 8.0
WARP_CLOSED = 0.5           # a closure this sure stays fully closed through the smoothing


@dataclass
class Reach:
    """What the warp adds on top of each output frame's chosen real mouth."""

    opening: np.ndarray       #: (n_out,) ``warp_mouth`` openness, >= 0 (only ever opens further)
    width: np.ndarray         #: (n_out,) ``warp_mouth`` width, -1..1


@dataclass
class BuiltinState:
    mode: str                 #: "reuse" or "warp"
    targets: MouthTargets
    selection: np.ndarray | None  #: (n_out,) bank position per output frame (reuse mode)
    bank: MouthBank | None
    strength: float
    batch: int = 16           #: frames per render call (the job's ``batch_size``: no memory limit here)
    reach: Reach | None = None  #: reuse mode
    colour: np.ndarray | None = None  #: the last frame's colour correction (frames render in order)


class BuiltinEngine:
    """Weight-free engine; safe to share across jobs (per-template data is cached, state is per job)."""

    name = "builtin"
    device = "cpu"

    def __init__(self, settings: Settings | None = None):
        self._banks: OrderedDict[str, MouthBank] = OrderedDict()
        self._lock = threading.Lock()
        self._phones: dict[Path, PhoneCache] = {}

    # -- per job ---------------------------------------------------------------------------------
    def batch_for(self, state: BuiltinState) -> int:
        return state.batch

    def prepare(self, job: RenderJob) -> BuiltinState:
        """Audio -> mouth targets; for a talking template also the mouth bank and the frame choice."""
        targets = mouth_targets(job.audio.samples, float(job.fps), job.n_frames, job.options.lip_lead_s,
                                self.phone_cache(job.cache_dir))
        strength = job.options.mouth_strength
        if job.track.is_still or not job.track.is_talking():
            log.info("built-in engine: warp mode (no talking mouth to reuse in %s)", job.template.path.name)
            targets = replace(targets, openness=warp_openings(targets, float(job.fps)))
            return BuiltinState("warp", targets, None, None, strength, job.options.batch_size)
        bank = self._bank(job)
        yaw_out = L.yaw_proxy(job.track.landmarks)[job.frame_index]
        selection = select_mouths(bank, targets, yaw_out, float(np.clip(strength, 0, 1.5)))
        joins = sum(is_join(bank, selection, t) for t in range(selection.size))
        log.info("built-in engine: reuse mode, %d mouth sources from %s, %d joins in %d frames",
                 len(bank.frames), job.template.path.name, joins, selection.size)
        return BuiltinState("reuse", targets, selection, bank, strength, job.options.batch_size,
                            reach_beyond(bank, targets, selection, strength))

    def phone_cache(self, cache_dir: Path) -> PhoneCache:
        """The phone cache of a data folder (one per folder; shared by all jobs of this engine)."""
        with self._lock:
            return self._phones.setdefault(cache_dir, PhoneCache(cache_dir / "phones"))

    def _bank(self, job: RenderJob) -> MouthBank:
        with self._lock:
            bank = self._banks.get(job.track.key)
            if bank is None:
                bank = build_bank(job)
                self._banks[job.track.key] = bank
                while len(self._banks) > BANKS_KEPT:
                    self._banks.popitem(last=False)
            self._banks.move_to_end(job.track.key)
            return bank

    # -- per batch of frames -------------------------------------------------------------------------
    def render(self, state: BuiltinState, frames: list[FrameIn]) -> list[Patch | None]:
        return [self._render_one(state, f) for f in frames]

    def _render_one(self, state: BuiltinState, f: FrameIn) -> Patch | None:
        if f.landmarks is None:
            return None
        if state.mode == "warp":
            return self._warp(state, f)
        return self._reuse(state, f)

    def _warp(self, state: BuiltinState, f: FrameIn) -> Patch:
        t = state.targets
        o = float(t.openness[f.out_index])
        mw = float(np.linalg.norm(f.landmarks[L.MOUTH_RIGHT] - f.landmarks[L.MOUTH_LEFT]))
        # relative to the template's own opening, so an open-mouthed photo closes in silences
        amount = (o * state.strength * WARP_FULL_OPENING - float(L.mouth_opening(f.landmarks))) / GAP_PER_AMOUNT
        extra = 0.45 * mw * max(amount, 0.0) + 2
        roi, _ = mask_roi(f.landmarks, f.image.shape, extra_down=extra)
        out = warp_mouth(f.image[roi.slices], f.landmarks, roi.x0, roi.y0, amount,
                         float(t.width[f.out_index]) * min(state.strength, 1.5))
        return Patch(roi, out, extra_down=extra)

    def _reuse(self, state: BuiltinState, f: FrameIn) -> Patch | None:
        bank = state.bank
        to_ref = bank.to_ref[f.src_index]
        if not np.isfinite(to_ref).all():
            return None
        k = int(state.selection[f.out_index])
        lm = f.landmarks
        mw = float(np.linalg.norm(lm[L.MOUTH_RIGHT] - lm[L.MOUTH_LEFT]))
        more = float(state.reach.opening[f.out_index])
        gap = float(bank.gap_ratio[k]) + more * GAP_PER_AMOUNT
        extra = 0.25 * mw * max(0.0, gap - float(L.mouth_opening(lm))) / 0.3 + 0.05 * mw
        roi, margin = mask_roi(lm, f.image.shape, extra_down=extra)
        patch = render_candidate(bank, k, to_ref, roi.x0, roi.y0, roi.size)
        if is_join(bank, state.selection, f.out_index):
            # soften an unavoidable cut: half of the mouth that would have played on
            prev = continuation(bank, int(state.selection[f.out_index - 1]))
            other = render_candidate(bank, prev, to_ref, roi.x0, roi.y0, roi.size)
            patch = cv2.addWeighted(patch, 0.5, other, 0.5, 0)
        wider = float(state.reach.width[f.out_index])
        if more > 1e-3 or abs(wider) > 1e-3:
            patch = warp_mouth(patch, candidate_landmarks(bank, k, to_ref), roi.x0, roi.y0, more, wider)
        patch = _follow_colour(state, patch, f.image[roi.slices], lower_face_mask(lm, roi, margin, extra))
        return Patch(roi, patch, extra_down=extra)


def warp_openings(targets: MouthTargets, fps: float) -> np.ndarray:
    """The openings the warp shows (photos, templates whose mouth never opens): the targets smoothed over
    ``WARP_SMOOTH_S``, closures kept closed, and no faster than ``WARP_MAX_SPEED`` openings per second
    either way (the mouth starts closing a frame ahead of a closure instead of snapping shut)."""
    smooth = gaussian_filter1d(targets.openness.astype(np.float32), WARP_SMOOTH_S * fps, mode="nearest")
    return slope_limited(np.where(targets.closure > WARP_CLOSED, 0.0, smooth), WARP_MAX_SPEED / fps)


def slope_limited(x: np.ndarray, step: float) -> np.ndarray:
    """The highest track under ``x`` that changes by at most ``step`` from one frame to the next (a grey
    erosion with a cone: each value is capped by every other value plus ``step`` per frame between)."""
    if x.size == 0:
        return x.astype(np.float32)
    reach = int(np.ceil(float(np.ptp(x)) / step)) + 1  # further away, the cone lies above every value
    cone = -step * np.abs(np.arange(-reach, reach + 1))
    return grey_erosion(x, structure=cone, mode="nearest").astype(np.float32)


def reach_beyond(bank: MouthBank, targets: MouthTargets, selection: np.ndarray, strength: float) -> Reach:
    """The warp to add on top of the chosen real mouths: the opening the audio asks for beyond the chosen
    mouth's (the photo warp's calibration, so a template that never opens wide still opens on loud vowels),
    and the width change from the chosen mouth's width, relative to the template's usual one, to the
    target's. Both averaged over ``REACH_SMOOTH`` frames."""
    want_gap = targets.openness * strength * WARP_FULL_OPENING
    more = np.clip(want_gap - bank.gap_ratio[selection], 0, None) / GAP_PER_AMOUNT
    usual = float(np.median(bank.width))
    have = (bank.width[selection] - usual) / usual
    wider = width_amount(width_change(targets.width * min(strength, 1.5)) - have)
    return Reach(uniform_filter1d(more.astype(np.float32), REACH_SMOOTH, mode="nearest"),
                 np.clip(uniform_filter1d(wider.astype(np.float32), REACH_SMOOTH, mode="nearest"), -1, 1))


def _follow_colour(state: BuiltinState, patch: np.ndarray, base: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift the patch's colour toward the frame's around the mask edge (lighting drifts over a video),
    following that shift smoothly from frame to frame (``COLOUR_FOLLOW``)."""
    ring = (mask > 0.05) & (mask < 0.7)
    if ring.sum() >= 20:
        diff = base[ring].astype(np.float32).mean(0) - patch[ring].astype(np.float32).mean(0)
        diff = np.clip(diff, -COLOUR_SHIFT_MAX, COLOUR_SHIFT_MAX)
        state.colour = diff if state.colour is None else state.colour + COLOUR_FOLLOW * (diff - state.colour)
    if state.colour is None:
        return patch
    return np.clip(patch.astype(np.float32) + state.colour, 0, 255).astype(np.uint8)
