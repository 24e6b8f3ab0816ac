"""Soft lower-face mask from the landmarks and the feathered paste-back.

Everything outside the mask stays bit-identical to the template frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .face import landmarks as L

_REGION = L.JAW + L.UNDER_NOSE


@dataclass(frozen=True)
class Roi:
    """A rectangle of the frame, x0/y0 inclusive, x1/y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def size(self) -> tuple[int, int]:
        return self.x1 - self.x0, self.y1 - self.y0


def face_scale(lm: np.ndarray) -> float:
    """Face width in pixels (cheek to cheek) of one frame."""
    return float(L.face_width(lm))


def down_vector(lm: np.ndarray) -> np.ndarray:
    """Unit vector pointing from the eyes towards the chin (follows head roll)."""
    across = lm[L.EYE_OUTER_R] - lm[L.EYE_OUTER_L]
    across = across / max(np.linalg.norm(across), 1e-6)
    return np.array([-across[1], across[0]], dtype=np.float32)


def feather_margin(lm: np.ndarray) -> float:
    """Width in pixels over which the mask fades out."""
    return max(2.0, 0.06 * face_scale(lm))


def _region_points(lm: np.ndarray, extra_down: float) -> np.ndarray:
    pts = lm[_REGION]
    if extra_down > 0:  # room for a jaw that opens further than the template's
        pts = np.concatenate([pts, lm[L.JAW] + down_vector(lm) * extra_down])
    return pts


def mask_roi(lm: np.ndarray, frame_shape: tuple[int, ...], extra_down: float = 0.0) -> tuple[Roi, float]:
    """The rectangle that holds the feathered lower-face mask, and the feather margin in pixels."""
    margin = feather_margin(lm)
    pts = _region_points(lm, extra_down)
    pad = margin * 2.5
    h, w = frame_shape[:2]
    x0, y0 = np.floor(pts.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0) + pad).astype(int)
    return Roi(max(0, x0), max(0, y0), min(w, x1), min(h, y1)), margin


def lower_face_mask(lm: np.ndarray, roi: Roi, margin: float, extra_down: float = 0.0) -> np.ndarray:
    """Float32 mask in [0, 1] over ``roi``: 1 on the lower face and mouth, feathered to exactly 0."""
    w, h = roi.size
    pts = _region_points(lm, extra_down) - np.array([roi.x0, roi.y0], dtype=np.float32)
    hull = cv2.convexHull(np.round(pts * 4).astype(np.int32))
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_AA, shift=2)
    # shrink by half the margin so the feather fades out around the polygon's edge
    k = max(1, int(margin * 0.5))
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    sigma = margin * 0.6
    soft = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), sigmaX=sigma, sigmaY=sigma)
    soft[soft < 1.0 / 255] = 0.0
    return soft


def blend(frame: np.ndarray, patch: np.ndarray, roi: Roi, mask: np.ndarray) -> np.ndarray:
    """Return a copy of ``frame`` with ``patch`` (the rendered ROI) feathered in through ``mask``."""
    out = frame.copy()
    ys, xs = roi.slices
    base = frame[ys, xs].astype(np.float32)
    m = mask[..., None]
    out[ys, xs] = np.clip(base + (patch.astype(np.float32) - base) * m + 0.5, 0, 255).astype(np.uint8)
    return out
