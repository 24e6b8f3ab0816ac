"""Open, close and widen a mouth by warping the lips and jaw around the face mesh, and paint the
mouth interior that opening reveals. Used by the built-in engine when the template offers no real
open mouth to reuse (a still photo, a closed-mouth template), and on top of a reused real mouth where
the audio asks for more opening or another width than the chosen one has."""
from __future__ import annotations

import cv2
import numpy as np

from ..face import landmarks as L

INTERIOR_EDGE = 0.5        # brightness of the interior next to the lips, as a share of the lip colour
# The back of the mouth, as a share of the lip colour, and its tint (BGR): the darker part of 14 real
# open mouths (gt_pairs, v1-v8, each at its widest) keeps a median 0.40 / 0.36 / 0.48 of the lips' blue /
# green / red, redder than the lips (it reflects red tissue); 0.16 untinted read as a black hole
INTERIOR_DEEP = 0.3
INTERIOR_TINT = np.array([0.84, 0.76, 1.0], np.float32)
TEETH_MIN_GAP = 0.06       # lips this far apart (mouth widths) before the teeth show at all
TEETH_MAX_HEIGHT = 0.13    # tallest visible upper-teeth band, in mouth widths
TEETH_TINT = np.array([215, 222, 230], np.float32)  # BGR: slightly warm white, scaled to the face's light
SOFT_EDGE_PX = 0.8         # blur of the interior's outline (no hard painted edge)
# Narrowest rounding and widest spread, as a share of the mouth width. Lips round further than they
# spread ("oo" narrows a mouth far more than "ee" widens it). At 0.2 either way the rendered width moved
# about 0.65 as much as real speakers' (mediapipe's 5-95 % width range over speech, median of the 13
# video cases of bench_quality: 0.15 against 0.26); at these values 0.75 as much (0.18). Spreading by
# 0.4 too stretched the lips into a grimace with a pale rim on contact sheets.
ROUNDING, SPREADING = 0.4, 0.25
JAW_BLEND = 0.8            # lip-to-chin share over which the lip's motion widens into the jaw's
# per unit of ``openness``, in mouth widths: the jaw carries the lower lip down, the upper lip lifts a little
JAW_DROP, LIP_LIFT = 0.42, 0.09
GAP_PER_AMOUNT = JAW_DROP + LIP_LIFT  # inner-lip gap / mouth width added per unit of ``openness``
# a source mouth already this open (inner gap / mouth width) shows its own teeth: the gap opened at
# its seam lies between the real upper and lower teeth, so no teeth are painted into it
OWN_TEETH_GAP = (0.03, 0.08)


def width_change(amount: np.ndarray | float) -> np.ndarray | float:
    """Relative change of the mouth width for a width ``amount`` -1 (rounded) .. 1 (spread)."""
    return np.where(np.asarray(amount) < 0, ROUNDING, SPREADING) * amount


def width_amount(change: np.ndarray | float) -> np.ndarray | float:
    """The width ``amount`` that changes the mouth width by ``change`` (inverse of ``width_change``)."""
    return np.asarray(change) / np.where(np.asarray(change) < 0, ROUNDING, SPREADING)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / max(e1 - e0, 1e-6), 0, 1)
    return t * t * (3 - 2 * t)


def warp_mouth(image: np.ndarray, lm: np.ndarray, x0: int, y0: int, openness: float,
               width: float = 0.0) -> np.ndarray:
    """Render the ROI ``image`` (top-left at x0, y0 in the frame) with the mouth opened by ``openness``
    (relative: 1 adds an inner-lip gap of ``GAP_PER_AMOUNT`` mouth widths; negative closes an open mouth) and
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
    if openness >= 0:
        d_low, d_up = JAW_DROP * mw * openness, LIP_LIFT * mw * openness
    else:
        # closing: both lips meet at the seam, each closing its own half of the gap (with the opening's
        # 82/18 split the lower lip stopped at the seam and the upper teeth stayed as a white line)
        d_low = d_up = -mw * min(-openness * GAP_PER_AMOUNT, float(L.mouth_opening(lm))) / 2

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
    # below the moved lower lip the motion widens from the lip's taper to the jaw's broad span; starting
    # the widening under the lip (not at the seam) keeps the opening's outline round at the corners
    s = _smoothstep(0, JAW_BLEND * hc, vp - d_low * lens)
    fall_low = 1 - _smoothstep(hc, hc * 1.6, vp)
    dv_low = d_low * ((1 - s) * lens + s * broad) * fall_low
    dv_up = -d_up * lens * np.clip(1 + vp / hn, 0, 1)
    dv = np.where(vp >= 0, dv_low, dv_up)
    src_vp = vp - dv

    du = np.zeros_like(u)
    if abs(width) > 1e-3:
        near = np.exp(-(vp / (0.6 * mw)) ** 2) * (1 - _smoothstep(half, half * 2.2, au))
        du = width_change(width) * u * near
    src_u = u - du
    src_v = np.interp(src_u, mu[order], mv[order]).astype(np.float32) + src_vp
    map_x = (c[0] + src_u * ex[0] + src_v * ey[0]).astype(np.float32)
    map_y = (c[1] + src_u * ex[1] + src_v * ey[1]).astype(np.float32)
    # bicubic: bilinear blurred the lips (sharpness 0.90x of the template's; bench_quality)
    out = cv2.remap(image, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)

    # the revealed gap: where output and source lie on different sides of the seam
    depth = np.where(vp >= 0, -src_vp, src_vp)
    alpha = np.clip(depth / 1.5 + 0.5, 0, 1) * (au < half)
    if not alpha.any():
        return out
    # the interior is painted only over the gap's box (with room for the soft edge): a tenth of the ROI
    ys, xs = np.nonzero(alpha)
    pad = int(4 * SOFT_EDGE_PX) + 2
    box = (slice(max(0, ys.min() - pad), ys.max() + pad + 1), slice(max(0, xs.min() - pad), xs.max() + pad + 1))
    top, bottom = -d_up * lens[box], d_low * lens[box]
    own_teeth = float(_smoothstep(*OWN_TEETH_GAP, np.float32(L.mouth_opening(lm))))
    inner = _interior(image, lm, x0, y0, u[box], vp[box], top, bottom, half, mw, 1 - own_teeth)
    a = cv2.GaussianBlur(alpha[box].astype(np.float32), (0, 0), SOFT_EDGE_PX)[..., None]
    out[box] = np.clip(out[box] * (1 - a) + inner * a, 0, 255).astype(np.uint8)
    return out


def face_colours(image: np.ndarray, lm: np.ndarray, x0: int, y0: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean BGR of the lips (between the outer and inner contours) and of the skin around them."""
    off = np.array([x0, y0], np.float32)
    lips = np.zeros(image.shape[:2], np.uint8)
    outer = np.concatenate([lm[L.UPPER_LIP_OUTER], lm[L.LOWER_LIP_OUTER][::-1]]) - off
    inner = np.concatenate([lm[L.UPPER_LIP_INNER], lm[L.LOWER_LIP_INNER][::-1]]) - off
    cv2.fillPoly(lips, [np.round(outer).astype(np.int32)], 1)
    cv2.fillPoly(lips, [np.round(inner).astype(np.int32)], 0)
    skin = np.zeros_like(lips)
    cv2.fillPoly(skin, [np.round(lm[L.UNDER_NOSE] - off).astype(np.int32)], 1)
    px = image.reshape(-1, 3).astype(np.float32)
    lip_c = px[lips.ravel() > 0].mean(0) if lips.any() else np.array([90, 90, 170], np.float32)
    skin_px = px[(skin.ravel() > 0) & (lips.ravel() == 0)]
    skin_c = skin_px.mean(0) if skin_px.size else lip_c
    return lip_c, skin_c


def _interior(image: np.ndarray, lm: np.ndarray, x0: int, y0: int, u: np.ndarray, vp: np.ndarray,
              top: np.ndarray, bottom: np.ndarray, half: float, mw: float, teeth: float = 1.0) -> np.ndarray:
    """Colour of the mouth interior over the ROI: shaded from the face's own lip and skin colours,
    darker towards the back and the corners, upper teeth only where the opening shows them (scaled by
    ``teeth``: 0 when the source mouth shows its own)."""
    lip_c, skin_c = face_colours(image, lm, x0, y0)
    gap = np.maximum(bottom - top, 1e-3)
    t = np.clip((vp - top) / gap, 0, 1)                 # 0 at the upper lip .. 1 at the lower lip
    au = np.abs(u) / half
    shade = INTERIOR_EDGE - (INTERIOR_EDGE - INTERIOR_DEEP) * np.clip(1 - np.abs(t - 0.45) * 2.0, 0, 1)
    shade = shade * (1 - 0.5 * np.clip(au, 0, 1) ** 2)  # the corners recede into shadow
    inner = (lip_c * INTERIOR_TINT)[None, None] * shade[..., None]
    # upper teeth: a band under the upper lip, taller as the mouth opens, only when the gap is big enough
    teeth_h = np.clip(gap - TEETH_MIN_GAP * mw, 0, None) * 0.5
    teeth_h = np.minimum(teeth_h, TEETH_MAX_HEIGHT * mw)
    ends = 1 - _smoothstep(0.55, 0.95, au)              # the side teeth fade into the corners' shadow
    rel = (vp - top) / np.maximum(teeth_h, 1e-3)       # 0 at the upper lip .. 1 at the teeth's edge
    teeth_a = (1 - _smoothstep(0.55, 1.0, rel)) * ends * (teeth_h > 0.5) * teeth
    tooth = TEETH_TINT * np.maximum(skin_c.max(), 120) / 255 + skin_c * 0.18
    # the upper lip shades the teeth's roots, the sides recede
    light = (1 - 0.45 * au ** 2) * (0.8 + 0.2 * _smoothstep(0.0, 0.35, rel))
    tooth = np.clip(tooth, 0, 255)[None, None] * light[..., None]
    inner = inner + (tooth - inner) * (teeth_a * 0.9)[..., None]
    # the tongue: a soft lighter shape low in a wide-open mouth
    tongue_a = np.clip((t - 0.65) / 0.35, 0, 1) * (1 - _smoothstep(0.3, 0.6, au)) * np.clip(gap / (0.25 * mw), 0, 1)
    inner = inner + (lip_c * 0.7 - inner) * (0.5 * tongue_a)[..., None]
    return inner
