"""The engine interface every lip-sync engine implements, and the data it exchanges with the pipeline."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..audio import AudioTrack
from ..compose import Roi
from ..config import JobOptions
from ..face import FaceTrack
from ..media import MediaInfo


@dataclass(frozen=True)
class RenderJob:
    """Everything an engine may look at once per job, before rendering."""

    template: MediaInfo
    template_digest: str
    track: FaceTrack
    audio: AudioTrack
    fps: Fraction
    n_frames: int              #: output frames
    frame_index: np.ndarray    #: (n_frames,) output frame -> template frame
    options: JobOptions
    cache_dir: Path


@dataclass
class FrameIn:
    """One output frame to render: its template frame and that frame's landmarks (None = no face)."""

    out_index: int
    src_index: int
    image: np.ndarray
    landmarks: np.ndarray | None


@dataclass
class Patch:
    """An engine's rendering of one frame's region; compose feathers it in with the landmark mask."""

    roi: Roi
    image: np.ndarray
    #: how far (pixels) the jaw may open below the template's chin, to size the mask
    extra_down: float = 0.0


@runtime_checkable
class Engine(Protocol):
    """A lip-sync engine. Loaded once per process by the registry, then reused for every job."""

    name: str
    #: torch device string ("cpu", "cuda:0") or "cpu" for engines without a model
    device: str

    def prepare(self, job: RenderJob) -> Any:
        """Per-job work done once (audio features, per-template data); returns the engine's state."""
        ...

    def batch_for(self, state: Any) -> int:
        """How many frames the engine wants per ``render`` call for this job (the pipeline hands it
        exactly that many, except for the last batch)."""
        ...

    def render(self, state: Any, frames: list[FrameIn]) -> list[Patch | None]:
        """Render a batch of frames; None for a frame means "keep the template frame"."""
        ...
