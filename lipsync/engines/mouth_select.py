"""Unit selection (as in Video Rewrite): for every output frame, the template mouth that best follows
the audio's target shape while staying natural.

Cost = target cost (opening, width, closure, teeth, head turn, strong expressions) + join cost between
consecutive choices. Playing on to the template's next frame costs nothing, holding a frame costs a
little, any other jump costs more; dynamic programming (Viterbi) finds the cheapest sequence. The
output is solved in chunks so memory stays flat for an hour of audio.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..articulation import MouthTargets
from .mouth_bank import MouthBank


@dataclass(frozen=True)
class SelectSettings:
    """Weights of the selection costs (units: one template opening range = cost 1)."""

    w_opening: float = 1.0
    #: opening targets are scaled for the photo warp; the choice among real mouths wants them over the
    #: template's whole range (chosen mouths move 0.86 as much as the real speaker's instead of 0.69)
    opening_gain: float = 1.25
    #: width matters less than opening: the template's widths span a small range, and a wider choice
    #: costs opening accuracy (bench/bench_targets.py)
    w_width: float = 0.75
    #: the audio's width targets use about half of their -1..1 range in speech; stretched toward the
    #: template's range
    width_gain: float = 1.25
    #: a closure must really close: opening above the closed level costs this much more
    w_closure: float = 2.0
    w_teeth: float = 0.15
    #: per 0.05 of head-turn difference beyond ``pose_free`` (a turned mouth looks wrong on a frontal head)
    w_pose: float = 0.3
    #: head-turn difference that costs nothing: the similarity warp of the crop absorbs small turns
    pose_free: float = 0.05
    #: grins and other strong expressions are rare in neutral speech
    w_expression: float = 1.5
    #: holding the same mouth for another frame (a frozen mouth is fine briefly, e.g. in silence)
    hold: float = 0.12
    #: jumping to an unrelated template frame (a visible cut; blended over one frame); the warp on top of
    #: the chosen mouth supplies the opening and width a cut used to buy (bench_quality: change 1.25x ->
    #: 1.18x at the same opening)
    join: float = 1.2
    #: frames solved at once; the next chunk starts from the previous chunk's last choice
    chunk: int = 1500


def _robust_range(x: np.ndarray, lo: float = 3, hi: float = 97) -> tuple[float, float]:
    a, b = np.percentile(x, [lo, hi])
    return float(a), float(max(b - a, 1e-3))


def target_costs(bank: MouthBank, targets: MouthTargets, yaw_out: np.ndarray, gain: float,
                 s: SelectSettings) -> np.ndarray:
    """(T, K) cost of showing candidate k at output frame t."""
    o_lo, o_span = _robust_range(bank.opening)
    w_mid = float(np.median(bank.width))
    w_lo, w_span = _robust_range(bank.width, 10, 90)
    smile_mid = float(np.median(bank.smile))
    _, smile_span = _robust_range(bank.smile, 10, 90)
    want_open = o_lo + np.clip(targets.openness * gain * s.opening_gain, 0, 1.2)[:, None] * o_span
    want_width = w_mid + np.clip(targets.width * s.width_gain, -1, 1)[:, None] * w_span / 2
    cost = s.w_opening * np.abs(bank.opening[None] - want_open) / o_span
    cost += s.w_width * np.abs(bank.width[None] - want_width) / w_span
    cost += s.w_closure * targets.closure[:, None] * np.clip(bank.opening[None] - o_lo, 0, None) / o_span
    want_teeth = np.clip(targets.openness * 1.5 - 0.3, 0, 1)[:, None] * float(np.percentile(bank.teeth, 90))
    cost += s.w_teeth * np.abs(bank.teeth[None] - want_teeth)
    expression = np.clip((bank.smile - smile_mid) / smile_span - 0.75, 0, None) \
        + np.clip((bank.width - w_mid) / w_span - 1.0, 0, None)
    cost += s.w_expression * expression[None]
    pose = np.clip(np.abs(bank.yaw[None] - yaw_out[:, None]) - s.pose_free, 0, None) / 0.05
    cost += s.w_pose * np.where(np.isfinite(pose), pose, 0.0)
    return cost


def _viterbi(cost: np.ndarray, run_next: np.ndarray, start: int | None, s: SelectSettings) -> np.ndarray:
    """Cheapest path through ``cost`` (T, K) with play-on / hold / jump transitions."""
    t_len, k_len = cost.shape
    back = np.empty((t_len, k_len), np.int32)
    total = cost[0].copy()
    if start is not None:
        total += _step_cost(start, k_len, run_next, s)
    arange = np.arange(k_len)
    for t in range(1, t_len):
        play_on = np.full(k_len, np.inf)
        play_on[1:] = np.where(run_next[:-1], total[:-1], np.inf)
        hold = total + s.hold
        j = int(np.argmin(total))
        jump = total[j] + s.join
        best = np.minimum(np.minimum(play_on, hold), jump)
        back[t] = np.where(best == play_on, arange - 1, np.where(best == hold, arange, j))
        total = best + cost[t]
    path = np.empty(t_len, np.int32)
    path[-1] = int(np.argmin(total))
    for t in range(t_len - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def _step_cost(prev: int, k_len: int, run_next: np.ndarray, s: SelectSettings) -> np.ndarray:
    c = np.full(k_len, s.join)
    c[prev] = s.hold
    if run_next[prev] and prev + 1 < k_len:
        c[prev + 1] = 0.0
    return c


def select_mouths(bank: MouthBank, targets: MouthTargets, yaw_out: np.ndarray, gain: float = 1.0,
                  settings: SelectSettings = SelectSettings()) -> np.ndarray:
    """Bank position for every output frame (chunked Viterbi over the target and join costs)."""
    n = targets.openness.size
    out = np.empty(n, np.int32)
    prev: int | None = None
    for a in range(0, n, settings.chunk):
        b = min(n, a + settings.chunk)
        part = MouthTargets(targets.openness[a:b], targets.width[a:b], targets.closure[a:b], targets.speech[a:b])
        cost = target_costs(bank, part, yaw_out[a:b], gain, settings)
        out[a:b] = _viterbi(cost, bank.run_next, prev, settings)
        prev = int(out[b - 1])
    return out


def is_join(bank: MouthBank, selection: np.ndarray, t: int) -> bool:
    """True when frame t does not simply play on from (or hold) frame t-1's mouth."""
    if t == 0:
        return False
    a, b = int(selection[t - 1]), int(selection[t])
    return not (b == a or (b == a + 1 and bank.run_next[a]))


def continuation(bank: MouthBank, k: int) -> int:
    """The mouth that would follow candidate k without a jump."""
    return k + 1 if bank.run_next[k] else k
