"""Open, close and widen a mouth by warping the lips and jaw around the face mesh, and paint the
mouth interior that opening reveals. Used by the built-in engine when the template offers no real
open mouth to reuse (a still photo, a closed-mouth template)."""
from __future__ import annotations

import cv2
import numpy as np

from ..face import landmarks as L

_INTERIOR_EDGE = np.array([48, 38, 92], np.float32)   # BGR: dark red at the lips' inner edge
_INTERIOR_DEEP = np.array([22, 16, 34], np.float32)   # the dark back of the mouth
_TEETH = np.array([200, 208, 220], np.float32)
_TONGUE = np.array([78, 76, 150], np.float32)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / max(e1 - e0, 1e-6), 0, 1)
    return t * t * (3 - 2 * t)


def warp_mouth(image: np.ndarray, lm: np.ndarray, x0: int, y0: int, openness: float,
               width: float = 0.0) -> np.ndarray:
    """Render the ROI ``image`` (top-left at x0, y0 in the frame) with the mouth opened by ``openness``
    (relative: 1 adds an inner-lip gap of ~0.51 mouth widths; negative closes an open mouth) and
    widened by ``width`` (-1..1). ``lm`` are frame-pixel landmarks."""
    h, w = image.shape[:2]
    c = (lm[L.LIP_TOP] + lm[L.LIP_BOTTOM]) / 2 - np.array([x0, y0], np.float32)
    ex = lm[L.MOUTH_RIGHT] - lm[L.MOUTH_LEFT]
    mw = float(np.linalg.norm(ex))
    if mw < 4 or abs(openness) <= 1e-3 and abs(width) < 1e-3:
        return image
    ex = ex / mw
    ey = np.array([-ex[1], ex[0]], np.float32)
    half = mw / 2
    hc = max(float((lm[L.CHIN] - lm[L.LIP_BOTTOM]) @ ey), 0.3 * mw)
    hn = max(float((lm[L.LIP_TOP] - lm[2]) @ ey), 0.2 * mw)
    d_low = 0.42 * mw * openness
    d_up = 0.09 * mw * openness

    xs = np.arange(w, dtype=np.float32) - c[0]
    ys = np.arange(h, dtype=np.float32) - c[1]
    gx, gy = np.meshgrid(xs, ys)
    u = gx * ex[0] + gy * ex[1]
    v = gx * ey[0] + gy * ey[1]

    # the seam between the lips, as a function of u (midline of the inner lip contours)
    centre = c + np.array([x0, y0], np.float32)
    mid = (lm[L.UPPER_LIP_INNER] + lm[L.LOWER_LIP_INNER]) / 2 - centre
    mu, mv = mid @ ex, mid @ ey
    order = np.argsort(mu)
    v_seam = np.interp(u, mu[order], mv[order]).astype(np.float32)
    vp = v - v_seam

    lens = np.sqrt(np.clip(1 - (u / half) ** 2, 0, 1))           # the opening tapers to the corners
    au = np.abs(u)
    broad = 1 - _smoothstep(half * 0.9, half * 0.9 + 0.9 * mw, au)  # the jaw moves over a wider span
    s = _smoothstep(0, 0.5 * hc, vp)
    fall_low = 1 - _smoothstep(hc, hc * 1.6, vp)
    dv_low = d_low * ((1 - s) * lens + s * broad) * fall_low
    dv_up = -d_up * lens * np.clip(1 + vp / hn, 0, 1)
    dv = np.where(vp >= 0, dv_low, dv_up)
    src_vp = vp - dv

    du = np.zeros_like(u)
    if abs(width) > 1e-3:
        near = np.exp(-(vp / (0.6 * mw)) ** 2) * (1 - _smoothstep(half, half * 2.2, au))
        du = 0.07 * width * u * near
    src_u = u - du
    src_v = np.interp(src_u, mu[order], mv[order]).astype(np.float32) + src_vp
    map_x = (c[0] + src_u * ex[0] + src_v * ey[0]).astype(np.float32)
    map_y = (c[1] + src_u * ex[1] + src_v * ey[1]).astype(np.float32)
    out = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    # the revealed gap: where output and source lie on different sides of the seam
    depth = np.where(vp >= 0, -src_vp, src_vp)
    alpha = np.clip(depth / 1.5 + 0.5, 0, 1) * (au < half)
    if not alpha.any():
        return out
    top, bottom = -d_up * lens, d_low * lens
    t = np.clip((vp - top) / np.maximum(bottom - top, 1e-3), 0, 1)  # 0 at upper lip .. 1 at lower lip
    gap_px = (bottom - top)
    inner = _INTERIOR_EDGE + (_INTERIOR_DEEP - _INTERIOR_EDGE) * np.clip(
        1 - np.abs(t - 0.5) * 2.2, 0, 1)[..., None]
    teeth_h = np.minimum(0.3 * gap_px, 0.1 * mw)
    teeth = ((vp - top) < teeth_h) & (au < 0.62 * half)
    teeth_a = teeth * np.clip(1 - au / (0.62 * half), 0, 1) ** 0.3
    inner = inner + (_TEETH - inner) * teeth_a[..., None]
    tongue = np.clip((t - 0.72) / 0.28, 0, 1) * (au < 0.5 * half)
    inner = inner + (_TONGUE - inner) * (0.6 * tongue)[..., None]
    a = alpha[..., None]
    return np.clip(out * (1 - a) + inner * a, 0, 255).astype(np.uint8)
