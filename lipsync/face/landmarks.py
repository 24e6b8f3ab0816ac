"""Named MediaPipe face-mesh (468 points) indices and per-frame shape measures."""
from __future__ import annotations

import numpy as np

UPPER_LIP_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_LIP_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
UPPER_LIP_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LOWER_LIP_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
# jaw line from the left cheek through the chin to the right cheek
JAW = [234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454]
# just under the nose, across the cheeks: the top edge of the lower-face region
UNDER_NOSE = [205, 206, 165, 92, 186, 57, 43, 106, 182, 83, 18, 313, 406, 335, 273, 287, 410, 322, 391, 426, 425]
NOSE_BASE = [98, 97, 2, 326, 327]
# points that move with the head but not with the jaw or lips (for aligning mouths between frames)
STABLE = [33, 133, 362, 263, 1, 4, 5, 195, 168, 6, 98, 327]
MOUTH_LEFT, MOUTH_RIGHT, LIP_TOP, LIP_BOTTOM, CHIN = 78, 308, 13, 14, 152
EYE_OUTER_L, EYE_OUTER_R, NOSE_TIP = 33, 263, 1
CHEEK_L, CHEEK_R = 234, 454


def mouth_opening(lm: np.ndarray) -> np.ndarray:
    """Inner-lip gap (points 13-14) over inner mouth width (78-308); works on (...,468,2) arrays."""
    gap = np.linalg.norm(lm[..., LIP_TOP, :] - lm[..., LIP_BOTTOM, :], axis=-1)
    width = np.linalg.norm(lm[..., MOUTH_LEFT, :] - lm[..., MOUTH_RIGHT, :], axis=-1)
    return gap / np.maximum(width, 1e-6)


def yaw_proxy(lm: np.ndarray) -> np.ndarray:
    """Signed head turn: nose tip offset from the eyes' midpoint, in eye distances (0 = frontal)."""
    left, right, nose = lm[..., EYE_OUTER_L, :], lm[..., EYE_OUTER_R, :], lm[..., NOSE_TIP, :]
    eye = right - left
    dist = np.linalg.norm(eye, axis=-1)
    mid = (left + right) / 2
    return ((nose - mid) * eye).sum(axis=-1) / np.maximum(dist, 1e-6) ** 2


def face_box(lm: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) around the landmarks; works on (...,468,2) arrays."""
    return np.concatenate([lm.min(axis=-2), lm.max(axis=-2)], axis=-1)


def face_width(lm: np.ndarray) -> np.ndarray:
    """Face width in pixels, cheek to cheek (points 234-454); works on (...,468,2) arrays."""
    return np.linalg.norm(lm[..., CHEEK_R, :] - lm[..., CHEEK_L, :], axis=-1)
