"""Settings for the process and options for one job, as frozen dataclasses."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def env(name: str, default: str) -> str:
    """A setting from the environment, with its default."""
    return os.environ.get(name, default)


def folder(variable: str, under_shared: str) -> str:
    """A folder setting: its own variable, else ``$LIPSYNC_SHARED_DIR/<under_shared>`` (the folder every
    machine of a scale-out mounts at the same path), else ``under_shared`` in the working directory."""
    shared = os.environ.get("LIPSYNC_SHARED_DIR")
    return os.environ.get(variable) or (str(Path(shared) / under_shared) if shared else under_shared)


@dataclass(frozen=True)
class Settings:
    """Process-wide settings (read once at start-up; never mutated per request)."""

    #: where finished videos go, one folder per batch
    outputs_dir: Path = field(default_factory=lambda: Path(folder("LIPSYNC_OUTPUTS", "outputs")))
    #: caches (face analysis), job database, logs, per-job work folders
    data_dir: Path = field(default_factory=lambda: Path(folder("LIPSYNC_DATA", "data")))
    #: where engine weights live
    checkpoints_dir: Path = field(default_factory=lambda: Path(env("LIPSYNC_CHECKPOINTS", "checkpoints")))
    #: default engine name
    engine: str = field(default_factory=lambda: env("LIPSYNC_ENGINE", "builtin"))
    #: torch device for neural engines: "auto", "cpu", "cuda", "cuda:1"
    device: str = field(default_factory=lambda: env("LIPSYNC_DEVICE", "auto"))
    #: longest audio accepted, in seconds (refused before any heavy work)
    max_audio_seconds: float = field(default_factory=lambda: float(env("LIPSYNC_MAX_AUDIO_S", "3600")))
    #: largest template side in pixels (an 8K video would need gigabytes per batch of frames)
    max_video_side: int = field(default_factory=lambda: int(env("LIPSYNC_MAX_VIDEO_SIDE", "4096")))
    #: largest upload accepted by the web app and the HTTP API, in megabytes
    max_upload_mb: int = field(default_factory=lambda: int(env("LIPSYNC_MAX_UPLOAD_MB", "2048")))
    #: language of the web pages: "zh", "en", or "auto" (each browser's own language)
    lang: str = field(default_factory=lambda: env("LIPSYNC_LANG", "auto"))
    #: below this much free disk space (GB) new batches are refused before any work; the page warns at twice it
    min_free_gb: float = field(default_factory=lambda: float(env("LIPSYNC_MIN_FREE_GB", "5")))
    #: batches older than this many days are archived (or deleted without an archive); 0 = keep everything
    keep_days: int = field(default_factory=lambda: int(env("LIPSYNC_KEEP_DAYS", "0")))
    #: a Redis URL (redis://host:6379/0): every item goes to Celery workers instead of this process
    broker_url: str = field(default_factory=lambda: env("LIPSYNC_BROKER_URL", ""))
    #: seconds after which a job a worker took but never finished goes to another worker (longer than any job)
    visibility_timeout: int = field(default_factory=lambda: int(env("LIPSYNC_VISIBILITY_TIMEOUT", "3600")))
    #: where old batches are moved (with their manifest); empty = they are deleted
    archive_dir: Path | None = field(default_factory=lambda: Path(env("LIPSYNC_ARCHIVE_DIR", "")) if env(
        "LIPSYNC_ARCHIVE_DIR", "") else None)

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"

    def with_(self, **changes) -> "Settings":
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class JobOptions:
    """Options of one generation job."""

    #: engine name; None = the settings' default
    engine: str | None = None
    #: frame rate for still-image templates
    still_fps: float = 25.0
    #: x264 constant rate factor (lower = better quality, bigger file)
    crf: int = 13
    #: x264 preset (speed / size trade-off)
    preset: str = "veryfast"
    #: frames per render call for engines without a limit of their own (built-in; Wav2Lip fits GPU memory)
    batch_size: int = 16
    #: lips lead the sound by this many seconds on top of the coarticulation (which already anticipates
    #: the next sound; measured against real speakers, an extra lead put the mouth 1-2 frames early)
    lip_lead_s: float = 0.0
    #: strength of the mouth motion for the built-in engine (1 = natural)
    mouth_strength: float = 1.0
    #: check every finished video (lip-sync, face coverage, flicker) for the reviewer
    qc: bool = True
    #: decode the next frames and encode the last ones in threads beside the engine
    overlap: bool = True
    #: which face speaks when the template shows several: 1, 2, ... counted left to right; None = the one
    #: MediaPipe finds
    face: int | None = None
