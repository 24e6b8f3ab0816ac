"""The mouths a talking template offers: full-resolution lower-face crops of candidate frames, each
described by the same shape features the audio targets use (opening, width, smile, teeth).

Crops stay in their own frame's pixels (no canonical canvas): rendering warps a crop once, straight
into the output frame, so a 1080p mouth stays as sharp as in the template.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..compose import face_scale, mask_roi
from ..face import landmarks as L
from ..face.analyse import smooth_runs
from ..media import iter_video_frames
from .base import RenderJob


@dataclass(frozen=True)
class BankSettings:
    """Tuning of the mouth bank."""

    #: most candidate frames kept (selection cost grows with it; 400 = 16 s at 25 fps)
    max_candidates: int = 400
    #: memory budget of the crops; a 1080p template keeps fewer, still contiguous, candidates
    max_bytes: int = 200 * 2 ** 20
    #: candidates are taken in contiguous runs of this many frames, so they can play on naturally
    run_length: int = 25
    #: how far below the chin a crop reaches, in face widths (room for a lower jaw)
    crop_below_chin: float = 0.35
    #: frames (Gaussian sigma) over which each head pose is averaged: a pasted mouth must not jitter with
    #: the landmarks' noise (bench_quality: mouth change 1.39x -> 1.35x on the five most restless cases)
    pose_smooth: float = 1.5


@dataclass
class MouthBank:
    """Candidate mouths of one template and what the selection needs to know about them."""

    frames: np.ndarray         #: (K,) template frame index of each candidate
    crops: list[np.ndarray]    #: full-resolution crop of each candidate frame
    origins: np.ndarray        #: (K, 2) top-left (x, y) of each crop in its frame
    to_ref: np.ndarray         #: (N, 3, 3) frame -> reference head pose, per template frame (NaN: no face)
    opening: np.ndarray        #: (K,) inner-lip gap / eye distance
    gap_ratio: np.ndarray      #: (K,) inner-lip gap / mouth width (sizes the mask)
    width: np.ndarray          #: (K,) mouth-corner distance / eye distance
    smile: np.ndarray          #: (K,) corner lift above the lip centre / eye distance (grins are high)
    teeth: np.ndarray          #: (K,) share of bright pixels between the inner lips
    yaw: np.ndarray            #: (K,) head turn
    run_next: np.ndarray       #: (K,) bool: candidate k+1 is the template frame right after k
    landmarks: np.ndarray      #: (K, 468, 2) frame-pixel landmarks of each candidate


def eye_distance(lm: np.ndarray) -> np.ndarray:
    """Outer eye-corner distance in pixels; works on (...,468,2) arrays."""
    return np.linalg.norm(lm[..., L.EYE_OUTER_R, :] - lm[..., L.EYE_OUTER_L, :], axis=-1)


def shape_features(lm: np.ndarray) -> dict[str, np.ndarray]:
    """Opening, width and smile of (...,468,2) landmarks, in eye distances (scale-free)."""
    d = np.maximum(eye_distance(lm), 1e-6)
    across = lm[..., L.EYE_OUTER_R, :] - lm[..., L.EYE_OUTER_L, :]
    down = np.stack([-across[..., 1], across[..., 0]], axis=-1) / d[..., None]
    centre = (lm[..., L.LIP_TOP, :] + lm[..., L.LIP_BOTTOM, :]) / 2
    corners = (lm[..., 61, :] + lm[..., 291, :]) / 2
    return {"opening": np.linalg.norm(lm[..., L.LIP_TOP, :] - lm[..., L.LIP_BOTTOM, :], axis=-1) / d,
            "width": np.linalg.norm(lm[..., 61, :] - lm[..., 291, :], axis=-1) / d,
            "smile": ((centre - corners) * down).sum(axis=-1) / d,
            "gap_ratio": L.mouth_opening(lm)}


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    m, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    return None if m is None else np.vstack([m, [0, 0, 1]])


def head_poses(lm_all: np.ndarray, valid: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per frame the similarity that maps its stable face points onto the reference frame's."""
    to_ref = np.full((lm_all.shape[0], 3, 3), np.nan)
    for i in np.flatnonzero(valid):
        s = _similarity(lm_all[i][L.STABLE], ref[L.STABLE])
        if s is not None:
            to_ref[i] = s
    return to_ref


def teeth_share(crop: np.ndarray, lm: np.ndarray, origin: np.ndarray) -> float:
    """Share of the inner-mouth pixels that are bright and unsaturated (visible teeth)."""
    poly = np.concatenate([lm[L.UPPER_LIP_INNER], lm[L.LOWER_LIP_INNER][::-1]]) - origin
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    if mask.sum() < 4:
        return 0.0
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    inside = hsv[mask > 0]
    bright = np.percentile(hsv[..., 2], 90)  # relative to the face's own brightness
    return float(((inside[:, 2] > 0.7 * bright) & (inside[:, 1] < 90)).mean())


def pick_candidates(valid_with_pose: np.ndarray, limit: int, run: int) -> np.ndarray:
    """At most ``limit`` frames, in contiguous runs spread evenly over the template."""
    idx = np.flatnonzero(valid_with_pose)
    if idx.size <= limit:
        return idx
    n_runs = max(1, limit // run)
    starts = np.linspace(0, idx.size - run, n_runs).astype(int)
    return np.unique(np.concatenate([idx[s:s + run] for s in starts]))


def build_bank(job: RenderJob, settings: BankSettings = BankSettings()) -> MouthBank:
    """Crop and describe the candidate mouths of a talking template (one decode pass)."""
    track = job.track
    lm_all = track.landmarks
    valid = np.flatnonzero(track.valid)
    yaw = L.yaw_proxy(lm_all)
    ref = lm_all[valid[np.argmin(np.abs(yaw[valid]))]]
    poses = head_poses(lm_all, track.valid, ref)
    to_ref = smooth_runs(poses, np.isfinite(poses).all(axis=(1, 2)), settings.pose_smooth)
    ok = np.isfinite(to_ref).all(axis=(1, 2))
    roi, _ = mask_roi(ref, (track.height, track.width), extra_down=settings.crop_below_chin * face_scale(ref))
    per_crop = roi.size[0] * roi.size[1] * 3 * 1.3  # crops vary a little with the head's position
    limit = int(min(settings.max_candidates, settings.max_bytes // max(per_crop, 1)))
    cand = pick_candidates(ok, max(limit, settings.run_length), settings.run_length)
    wanted = set(cand.tolist())
    crops, origins, teeth = {}, {}, {}
    for i, frame in enumerate(iter_video_frames(job.template, job.fps, max_frames=int(cand.max()) + 1)):
        if i in wanted:
            lm = lm_all[i]
            r, _ = mask_roi(lm, frame.shape, extra_down=settings.crop_below_chin * face_scale(lm))
            crops[i] = frame[r.slices].copy()
            origins[i] = np.array([r.x0, r.y0], np.float64)
            teeth[i] = teeth_share(crops[i], lm, origins[i])
    cand = np.array([i for i in cand if i in crops], dtype=np.int64)
    feats = shape_features(lm_all[cand])
    return MouthBank(frames=cand, crops=[crops[i] for i in cand], origins=np.stack([origins[i] for i in cand]),
                     to_ref=to_ref, opening=feats["opening"].astype(np.float32),
                     gap_ratio=feats["gap_ratio"].astype(np.float32), width=feats["width"].astype(np.float32),
                     smile=feats["smile"].astype(np.float32),
                     teeth=np.array([teeth[i] for i in cand], np.float32), yaw=yaw[cand].astype(np.float32),
                     run_next=np.append(np.diff(cand) == 1, False), landmarks=lm_all[cand].astype(np.float32))


def render_candidate(bank: MouthBank, k: int, to_ref_current: np.ndarray, roi_x0: int, roi_y0: int,
                     size: tuple[int, int]) -> np.ndarray:
    """Candidate ``k``'s crop warped (once, bicubic) into the current frame's ROI."""
    crop_to_frame = np.array([[1, 0, bank.origins[k, 0]], [0, 1, bank.origins[k, 1]], [0, 0, 1]])
    to_roi = np.array([[1, 0, -roi_x0], [0, 1, -roi_y0], [0, 0, 1]], np.float64)
    m = to_roi @ np.linalg.inv(to_ref_current) @ bank.to_ref[bank.frames[k]] @ crop_to_frame
    return cv2.warpAffine(bank.crops[k], m[:2], size, flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REPLICATE)


def candidate_landmarks(bank: MouthBank, k: int, to_ref_current: np.ndarray) -> np.ndarray:
    """Candidate ``k``'s landmarks where ``render_candidate`` puts its mouth in the current frame."""
    m = np.linalg.inv(to_ref_current) @ bank.to_ref[bank.frames[k]]
    return bank.landmarks[k] @ m[:2, :2].T + m[:2, 2]
