"""Automatic quality check of a finished video, so a reviewer knows which videos to look at first.

Measured on the output frames themselves while they are written (no second decode): MediaPipe's mesh
on every ``mesh_stride``-th frame gives the mouth opening, which is compared with the speech in the
audio (correlation and best lag); the head-aligned mouth crop of every frame gives the frame-to-frame
change (flicker); frames the engine left untouched (no face) give the coverage. A few mouth crops make
a contact sheet. ``check_video`` runs the same measures on any finished file.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import median_filter

from .audio import AUDIO_RATE, HOP, speech_activity
from .face import landmarks as L
from .face.analyse import FaceAnalyser, MeshTracker
from .i18n import DEFAULT, Msg, msg, t
from .quality import best_lag_correlation, canonical_mouth


@dataclass(frozen=True)
class QcSettings:
    """Where a video stops being good (-> check) or acceptable (-> poor)."""

    #: MediaPipe on every 3rd frame (interpolated between), in a thread beside the render: keeps the
    #: check under 15% of a 512x512 job (bench/bench_qc.py)
    mesh_stride: int = 3
    #: frames waiting for the mesh thread at most (frames are held in memory until measured)
    max_pending: int = 8
    #: lags searched, in frames; a best lag beyond ``lag_warn`` frames is visible to viewers
    max_lag: int = 4
    lag_warn: int = 2
    #: correlation of mouth opening with the speech: builtin and Wav2Lip outputs reach 0.5-0.8; an
    #: output whose mouth follows other speech stays near 0
    sync_check: float = 0.35
    sync_poor: float = 0.15
    #: share of frames lip-synced (the rest had no face and stay as in the template)
    coverage_check: float = 0.97
    coverage_poor: float = 0.8
    #: a flicker frame: its mouth crop changes this many times more than the frames around it (a jump
    #: between unrelated mouths, not a fast opening, which spreads over frames), and by at least
    #: ``flicker_floor`` grey levels per pixel; real speakers show such spikes in up to 2.5% of frames
    flicker_factor: float = 4.0
    flicker_floor: float = 6.0
    flicker_window: int = 9
    #: ... and more than ``flicker_factor`` times this share of the video's typical change while the mouth
    #: moves. On a photo nothing else moves (the crops of the still head do not change at all), so every
    #: quick lip movement beat its still neighbours fourfold: 3 of 6 photo videos had over 4 % of frames
    #: marked, now none (at most 3 %); real videos cut into shuffled pieces of 4-7 frames are still marked
    #: (6 of 9 clips, 7 before), of 8-15 frames 3 of 9 (4 before); uncut ones are not (bench_flicker.py)
    flicker_typical: float = 0.65
    #: share of flicker frames that asks for a look
    flicker_check: float = 0.04
    #: time ranges closer than this (seconds) are listed as one
    merge_s: float = 0.5
    #: contact sheet: mouths across the video, each tile this size
    sheet_tiles: int = 8
    tile: tuple[int, int] = (144, 96)
    #: tile centre under the nose, in eye distances: the lips in the middle, a little chin below
    tile_below_nose: float = 0.32


QC = QcSettings()
STILL_CHANGE = 1.0  # grey levels per pixel: below this a mouth crop has not moved (codec and landmark noise)
VERDICT_KEYS = {"good": "qc.good", "check": "qc.check", "poor": "qc.poor"}


@dataclass
class QcReport:
    """The check of one video: scores, time ranges, verdict and reasons, contact sheet file."""

    verdict: str                   #: good, check, poor
    sync: float | None             #: correlation of mouth opening with speech (None: nothing to compare)
    lag: int                       #: frames; positive = mouth after the sound
    face_share: float              #: frames lip-synced, 0..1
    untouched: list[str] = field(default_factory=list)   #: time ranges left as in the template
    flicker: list[str] = field(default_factory=list)     #: time ranges where the mouth jumps
    reasons: list[Msg] = field(default_factory=list)
    sheet: str | None = None       #: contact sheet image, path relative to the batch folder

    def to_dict(self) -> dict:
        """JSON for the manifest, the history and the HTTP API (reasons as English text and codes)."""
        out = asdict(self)
        out["reasons"] = [str(m) for m in self.reasons]
        out["reason_codes"] = [m.to_json() for m in self.reasons]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "QcReport":
        reasons = [Msg.from_json(m) for m in data.get("reason_codes", [])]
        keep = {k: data.get(k) for k in ("verdict", "sync", "lag", "face_share", "untouched", "flicker", "sheet")}
        return cls(**keep, reasons=reasons)

    def text(self, lang: str = DEFAULT) -> str:
        """One line for a table cell: the verdict and, if any, why."""
        head = t(lang, VERDICT_KEYS[self.verdict])
        return head if not self.reasons else f"{head}: {t(lang, 'common.plain', text=self.reasons)}"


def _stamp(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def time_ranges(mask: np.ndarray, fps: float, merge_s: float = QC.merge_s) -> list[str]:
    """Runs of True frames in whole seconds (runs closer than ``merge_s`` are one): "m:ss" for a run
    within one second, "m:ss-m:ss" (first and last second) for a longer one. Runs that only meet once
    rounded stay apart, so single moments a second apart read as moments to look at, not as one range
    over the whole video."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    runs, start, prev = [], idx[0], idx[0]
    for i in idx[1:]:
        if (i - prev) / fps > merge_s:
            runs.append((start, prev))
            start = i
        prev = i
    runs.append((start, prev))
    seconds: list[list[float]] = []
    for a, b in runs:
        start, end = np.floor(a / fps), max(np.ceil((b + 1) / fps), np.floor(a / fps) + 1)
        if seconds and start < seconds[-1][1]:
            seconds[-1][1] = max(seconds[-1][1], end)
        else:
            seconds.append([start, end])
    # both ends name seconds that hold the run ("0:01-0:02" = within seconds 1 and 2), as a moment does
    return [_stamp(a) if b - a <= 1 else f"{_stamp(a)}-{_stamp(b - 1)}" for a, b in seconds]


def listed(ranges: list[str], most: int = 5) -> str:
    """The first ``most`` time ranges for a message, with an ellipsis when there are more."""
    return ", ".join(ranges[:most]) + (" …" if len(ranges) > most else "")


class QcMeter:
    """Fed every output frame in order (with the template's landmarks of that frame, or None where the
    engine left it untouched); ``finish`` gives the report."""

    def __init__(self, fps: float, n_frames: int, s: QcSettings = QC):
        self.fps, self.n, self.s = fps, n_frames, s
        self.opening = np.full(n_frames, np.nan)
        self.change = np.full(n_frames, np.nan)
        self.covered = np.zeros(n_frames, bool)
        picks = np.linspace(0, n_frames - 1, s.sheet_tiles + 2)[1:-1] if n_frames else []
        self._sheet_at = {int(round(p)): k for k, p in enumerate(picks)}
        self._tiles: list[np.ndarray | None] = [None] * s.sheet_tiles
        self._mesh = MeshTracker()
        # the mesh runs beside the render (MediaPipe releases the GIL): one thread keeps frames in order
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qc-mesh")
        self._pending: deque[tuple[int, Future]] = deque()
        self._prev: np.ndarray | None = None

    def add(self, index: int, frame: np.ndarray, landmarks: np.ndarray | None) -> None:
        if index >= self.n:
            return
        self.covered[index] = landmarks is not None
        if landmarks is None:
            self._prev = None
            return
        crop = canonical_mouth(frame, landmarks)
        if self._prev is not None:
            self.change[index] = float(np.abs(crop - self._prev).mean())
        self._prev = crop
        if index % self.s.mesh_stride == 0:
            self._pending.append((index, self._pool.submit(self._mesh, frame, landmarks)))
            self._collect(wait=len(self._pending) > self.s.max_pending)
        if index in self._sheet_at:
            self._tiles[self._sheet_at[index]] = canonical_mouth(frame, landmarks, self.s.tile, grey=False,
                                                                 below_nose=self.s.tile_below_nose)

    def finish(self, samples: np.ndarray, sheet: Path | None = None) -> QcReport:
        """The report against the audio (16 kHz samples); writes the contact sheet if ``sheet`` is given."""
        self._collect(wait=True, everything=True)
        self.close()
        sync, lag = self._sync(samples)
        flicker = flicker_frames(self.change, self.s)
        share = float(self.covered.mean()) if self.n else 0.0
        report = QcReport(verdict="good", sync=sync, lag=lag, face_share=share,
                          untouched=time_ranges(~self.covered, self.fps, self.s.merge_s),
                          flicker=time_ranges(flicker, self.fps, self.s.merge_s))
        poor, check = _problems(report, float(flicker.mean()) if self.n else 0.0, self.fps, self.s)
        report.reasons = poor + check
        report.verdict = "poor" if poor else "check" if check else "good"
        if sheet is not None and any(tile is not None for tile in self._tiles):
            write_sheet(self._tiles, self.s.tile, sheet)
            report.sheet = f"{sheet.parent.name}/{sheet.name}"
        return report

    def close(self) -> None:
        """Stop the mesh thread and free MediaPipe (also when the job failed half-way)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None

    def _collect(self, wait: bool, everything: bool = False) -> None:
        """Openings of the meshed frames, oldest first; waits when too many frames are held (memory)."""
        while self._pending and (self._pending[0][1].done() or wait):
            index, future = self._pending.popleft()
            pts = future.result()
            if pts is not None:
                self.opening[index] = float(L.mouth_opening(pts))
            wait = everything

    def _sync(self, samples: np.ndarray) -> tuple[float | None, int]:
        """Best correlation (and its lag) of the mouth opening with the loudness of the speech."""
        vad, level, _ = speech_activity(samples)
        if vad.mean() < 0.05 or self.n < 10:
            return None, 0
        t_frames = (np.arange(self.n) + 0.5) / self.fps
        speech = np.interp(t_frames, (np.arange(level.size) + 0.5) * HOP / AUDIO_RATE, level)
        ok = np.flatnonzero(np.isfinite(self.opening))
        if ok.size < 6:
            return None, 0
        opening = np.interp(np.arange(self.n), ok, self.opening[ok])  # between measured frames
        opening[~self.covered] = np.nan
        corr, lag = best_lag_correlation(opening, speech, max_lag=self.s.max_lag)
        return (round(corr, 3) if np.isfinite(corr) else None), int(lag)


def flicker_frames(change: np.ndarray, s: QcSettings = QC) -> np.ndarray:
    """Frames whose mouth change (per frame, NaN where unmeasured) is a spike against the frames around
    them and against the video's typical change while the mouth moves."""
    measured = np.isfinite(change)
    change = np.nan_to_num(change)
    if measured.sum() < 10:
        return np.zeros(change.size, bool)
    local = median_filter(change, size=s.flicker_window, mode="nearest")
    moving = change[change > STILL_CHANGE]
    typical = float(np.median(moving)) if moving.size >= 10 else 0.0
    usual = np.maximum(np.maximum(local, STILL_CHANGE), s.flicker_typical * typical)
    return (change > s.flicker_factor * usual) & (change > s.flicker_floor)


def _problems(r: QcReport, flicker_share: float, fps: float, s: QcSettings) -> tuple[list[Msg], list[Msg]]:
    poor, check = [], []
    if r.sync is None:
        check.append(msg("qc.r_no_speech"))
    elif r.sync < s.sync_poor:
        poor.append(msg("qc.r_sync_poor", sync=r.sync))
    elif r.sync < s.sync_check:
        check.append(msg("qc.r_sync_low", sync=r.sync))
    if r.sync is not None and abs(r.lag) > s.lag_warn:
        check.append(msg("qc.r_lag", frames=abs(r.lag), ms=abs(r.lag) * 1000 / fps,
                         when=msg("qc.late" if r.lag > 0 else "qc.early")))
    if r.face_share < s.coverage_check:
        no_face = msg("qc.r_no_face", share=1 - r.face_share, ranges=listed(r.untouched))
        (poor if r.face_share < s.coverage_poor else check).append(no_face)
    if flicker_share > s.flicker_check:
        check.append(msg("qc.r_flicker", ranges=listed(r.flicker)))
    return poor, check


def write_sheet(tiles: list[np.ndarray | None], tile: tuple[int, int], path: Path) -> None:
    """The mouths side by side in two rows (a grey tile where there was no face)."""
    blank = np.full((tile[1], tile[0], 3), 128, np.uint8)
    row = len(tiles) // 2 or 1
    cells = [x if x is not None else blank for x in tiles]
    rows = [np.hstack(cells[i:i + row]) for i in range(0, len(cells), row)]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack([r for r in rows if r.shape == rows[0].shape]),
                [cv2.IMWRITE_JPEG_QUALITY, 85])


def check_video(video: Path, sheet: Path | None = None, s: QcSettings = QC) -> QcReport:
    """The same check on any finished video file (its own sound is the speech it should follow)."""
    from .media import decode_audio_16k, iter_video_frames, probe

    info = probe(video)
    frames = int(round((info.duration or 0) * float(info.fps)))
    meter = QcMeter(float(info.fps), frames, s)
    with FaceAnalyser() as fa:
        for i, frame in enumerate(iter_video_frames(info, info.fps)):
            meter.add(i, frame, fa.analyse(frame)[0])
    return meter.finish(decode_audio_16k(info), sheet)
