"""The built-in engine: lip-sync from the audio's loudness without any downloaded weights.

Per output frame the audio gives a target mouth shape (openness, width; silence = closed). Then:

* **reuse** ("Video Rewrite"): when the template shows the person talking, the mouth of the template
  frame whose measured opening best matches the target is aligned to the current frame through stable
  face landmarks and feathered in: real lips and teeth, no weights;
* **warp**: when the template has no usable open mouth (a still photo, closed lips), the lips and jaw
  are warped around the face mesh and the revealed mouth interior is painted.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from ..audio import MouthTrack, mouth_track
from ..compose import face_scale, mask_roi, lower_face_mask
from ..config import Settings
from ..face import landmarks as L
from ..media import iter_video_frames
from .base import FrameIn, Patch, RenderJob
from .mouth_warp import warp_mouth
from .registry import EngineSpec, register

log = logging.getLogger("lipsync.engines.builtin")

CANVAS_FACE_WIDTH = 160.0   # face width (pixels) of the stored mouth canvases
MAX_CANDIDATES = 400        # template frames kept as mouth sources
WARP_FULL_OPENING = 0.5     # inner-lip gap / mouth width for a fully open target (speech peaks ~0.4)
GAP_PER_AMOUNT = 0.51       # gap / width that warp_mouth adds per unit of its ``openness``


@dataclass
class MouthBank:
    """Aligned lower-face crops of a talking template, one per candidate frame."""

    frames: np.ndarray       #: (K,) template frame indices
    openness: np.ndarray     #: (K,) measured opening of each
    yaw: np.ndarray          #: (K,)
    canvases: list[np.ndarray]
    to_canvas: np.ndarray    #: (N, 3, 3) frame -> canvas transform per template frame (NaN if no face)
    canvas_size: tuple[int, int]


@dataclass
class BuiltinState:
    mode: str                 #: "reuse" or "warp"
    mouth: MouthTrack
    selection: np.ndarray | None  #: (n_out,) bank position per output frame (reuse mode)
    bank: MouthBank | None
    strength: float


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    m, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    if m is None:
        return None
    return np.vstack([m, [0, 0, 1]])


def is_talking(openness: np.ndarray) -> bool:
    """True when the template's own mouth opens and closes enough to reuse its appearances."""
    o = openness[np.isfinite(openness)]
    if o.size < 10:
        return False
    p10, p90 = np.percentile(o, [10, 90])
    return bool(p90 >= 0.15 and p90 - p10 >= 0.1)


class BuiltinEngine:
    """Weight-free engine; safe to share across jobs (per-template data is cached, state is per job)."""

    name = "builtin"
    device = "cpu"

    def __init__(self, settings: Settings | None = None):
        self._banks: OrderedDict[str, MouthBank] = OrderedDict()
        self._lock = threading.Lock()

    # -- per job ---------------------------------------------------------------------------------
    def prepare(self, job: RenderJob) -> BuiltinState:
        """Audio -> mouth targets; for a talking template also the mouth bank and the frame choice."""
        mouth = mouth_track(job.audio.samples, float(job.fps), job.n_frames, job.options.lip_lead_s)
        strength = job.options.mouth_strength
        open_t = job.track.openness()
        if job.track.is_still or not is_talking(open_t):
            log.info("built-in engine: warp mode (no talking mouth to reuse in %s)", job.template.path.name)
            return BuiltinState("warp", mouth, None, None, strength)
        bank = self._bank(job)
        selection = select_mouths(bank, mouth.openness * strength, job.frame_index,
                                  job.track, np.clip(strength, 0, 1.5))
        log.info("built-in engine: reuse mode, %d mouth sources from %s", len(bank.frames),
                 job.template.path.name)
        return BuiltinState("reuse", mouth, selection, bank, strength)

    def _bank(self, job: RenderJob) -> MouthBank:
        with self._lock:
            bank = self._banks.get(job.track.key)
            if bank is None:
                bank = build_bank(job)
                self._banks[job.track.key] = bank
                while len(self._banks) > 2:
                    self._banks.popitem(last=False)
            self._banks.move_to_end(job.track.key)
            return bank

    # -- per batch of frames -------------------------------------------------------------------------
    def render(self, state: BuiltinState, frames: list[FrameIn]) -> list[Patch | None]:
        return [self._render_one(state, f) for f in frames]

    def _render_one(self, state: BuiltinState, f: FrameIn) -> Patch | None:
        if f.landmarks is None:
            return None
        o = float(state.mouth.openness[f.out_index])
        if state.mode == "warp":
            mw = float(np.linalg.norm(f.landmarks[L.MOUTH_RIGHT] - f.landmarks[L.MOUTH_LEFT]))
            # relative to the template's own opening, so an open-mouthed photo closes in silences
            amount = (o * state.strength * WARP_FULL_OPENING - float(L.mouth_opening(f.landmarks))) \
                / GAP_PER_AMOUNT
            extra = 0.45 * mw * max(amount, 0.0) + 2
            roi, _ = mask_roi(f.landmarks, f.image.shape, extra_down=extra)
            crop = f.image[roi.slices]
            out = warp_mouth(crop, f.landmarks, roi.x0, roi.y0, amount,
                             float(state.mouth.width[f.out_index]) * state.strength)
            return Patch(roi, out, extra_down=extra)
        return self._reuse(state, f)

    def _reuse(self, state: BuiltinState, f: FrameIn) -> Patch | None:
        bank = state.bank
        a_j = bank.to_canvas[f.src_index]
        if not np.isfinite(a_j).all():
            return None
        k = int(state.selection[f.out_index])
        lm = f.landmarks
        mw = float(np.linalg.norm(lm[L.MOUTH_RIGHT] - lm[L.MOUTH_LEFT]))
        extra = 0.25 * mw * max(0.0, float(bank.openness[k]) - float(L.mouth_opening(lm))) / 0.3 + 0.05 * mw
        roi, margin = mask_roi(lm, f.image.shape, extra_down=extra)
        to_roi = np.array([[1, 0, -roi.x0], [0, 1, -roi.y0], [0, 0, 1]], np.float64) @ np.linalg.inv(a_j)
        patch = cv2.warpAffine(bank.canvases[k], to_roi[:2], roi.size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        patch = _match_colour(patch, f.image[roi.slices], lower_face_mask(lm, roi, margin, extra))
        return Patch(roi, patch, extra_down=extra)


def _match_colour(patch: np.ndarray, base: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift the patch's colour to the frame's around the mask edge (lighting drifts over a video)."""
    ring = (mask > 0.05) & (mask < 0.7)
    if ring.sum() < 20:
        return patch
    diff = base[ring].astype(np.float32).mean(0) - patch[ring].astype(np.float32).mean(0)
    diff = np.clip(diff, -20, 20)
    return np.clip(patch.astype(np.float32) + diff, 0, 255).astype(np.uint8)


def build_bank(job: RenderJob) -> MouthBank:
    """Align every candidate frame's lower face to a canonical canvas (one decode pass)."""
    track = job.track
    lm_all = track.landmarks
    valid = np.flatnonzero(track.valid)
    yaw = L.yaw_proxy(lm_all)
    ref_i = valid[np.argmin(np.abs(yaw[valid]))]
    ref = lm_all[ref_i]
    scale = min(1.0, CANVAS_FACE_WIDTH / max(face_scale(ref), 1.0))
    roi, _ = mask_roi(ref, (10 ** 6, 10 ** 6), extra_down=0.35 * face_scale(ref))
    canvas = np.array([[scale, 0, -roi.x0 * scale], [0, scale, -roi.y0 * scale], [0, 0, 1]])
    size = (int(np.ceil(roi.size[0] * scale)), int(np.ceil(roi.size[1] * scale)))
    to_canvas = np.full((track.n_frames, 3, 3), np.nan)
    for i in valid:
        s = _similarity(lm_all[i][L.STABLE], ref[L.STABLE])
        if s is not None:
            to_canvas[i] = canvas @ s
    step = max(1, int(np.ceil(valid.size / MAX_CANDIDATES)))
    cand = [i for i in valid[::step] if np.isfinite(to_canvas[i]).all()]
    wanted = set(cand)
    canvases: dict[int, np.ndarray] = {}
    frames = iter_video_frames(job.template, job.fps, max_frames=max(cand) + 1)
    for i, frame in enumerate(frames):
        if i in wanted:
            canvases[i] = cv2.warpAffine(frame, to_canvas[i][:2], size, flags=cv2.INTER_AREA,
                                         borderMode=cv2.BORDER_REPLICATE)
    cand = [i for i in cand if i in canvases]
    open_t = track.openness()
    return MouthBank(frames=np.array(cand), openness=open_t[cand].astype(np.float32),
                     yaw=yaw[cand].astype(np.float32), canvases=[canvases[i] for i in cand],
                     to_canvas=to_canvas, canvas_size=size)


def select_mouths(bank: MouthBank, target: np.ndarray, frame_index: np.ndarray, track,
                  gain: float = 1.0) -> np.ndarray:
    """For each output frame, the bank position whose mouth matches the target opening.

    Playing on from the previous choice is preferred while it still matches (real, smooth motion);
    otherwise the best match by opening and head turn is taken.
    """
    o = bank.openness
    lo, hi = np.percentile(o, 3), np.percentile(o, 97)
    span = max(hi - lo, 1e-3)
    desired = lo + np.clip(target, 0, 1.5) * span
    yaw_all = L.yaw_proxy(track.landmarks)
    out = np.zeros(target.size, dtype=np.int32)
    prev = -1
    for j in range(target.size):
        d = desired[j]
        tol = span * (0.06 + 0.1 * float(np.clip(target[j], 0, 1)))
        nxt = prev + 1
        if 0 <= prev and nxt < o.size and abs(o[nxt] - d) < tol:
            out[j] = prev = nxt
            continue
        yj = yaw_all[frame_index[j]]
        pose = np.abs(bank.yaw - yj) / 0.05 if np.isfinite(yj) else 0.0
        cost = np.abs(o - d) / span + 0.3 * pose
        out[j] = prev = int(np.argmin(cost))
    return out


register(EngineSpec(
    name="builtin",
    label="Built-in (no download)",
    description="Works offline with no model weights: reuses the template's own mouth movements, "
                "or warps the lips of a still photo.",
    factory=BuiltinEngine,
    licence="Part of this application.",
))
