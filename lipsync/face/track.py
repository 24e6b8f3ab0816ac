"""FaceTrack: per-frame face landmarks of one template, smoothed over time."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..files import atomic_path
from . import landmarks as L

# A talking template: its mouth opens (90th percentile of inner gap / width, speech peaks ~0.3-0.4)
# and closes again (the 10-90 percentile range), over enough frames to choose from.
TALKING_MIN_FRAMES = 10
TALKING_OPEN_P90 = 0.15
TALKING_RANGE = 0.1


@dataclass
class FaceTrack:
    """Result of analysing every frame of a template at the output frame rate."""

    key: str                   #: content hash + analyser version
    width: int
    height: int
    fps: float
    landmarks: np.ndarray      #: (N, 468, 2) float32 pixels, smoothed; NaN where no face
    valid: np.ndarray          #: (N,) bool: a face was found
    n_faces: np.ndarray        #: (N,) int: faces the detector saw
    det_score: np.ndarray      #: (N,) float: detector confidence of the chosen face
    is_still: bool = False
    meta: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.valid.size)

    @property
    def face_ratio(self) -> float:
        return float(self.valid.mean()) if self.valid.size else 0.0

    def openness(self) -> np.ndarray:
        """Measured inner-mouth opening per frame (NaN where no face)."""
        return L.mouth_opening(self.landmarks)

    def is_talking(self) -> bool:
        """True when the template's own mouth opens and closes enough to reuse its appearances."""
        o = self.openness()
        o = o[np.isfinite(o)]
        if o.size < TALKING_MIN_FRAMES:
            return False
        p10, p90 = np.percentile(o, [10, 90])
        return bool(p90 >= TALKING_OPEN_P90 and p90 - p10 >= TALKING_RANGE)

    def save(self, path: Path) -> None:
        """Write atomically (a crash never leaves a half cache file)."""
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, landmarks=self.landmarks, valid=self.valid, n_faces=self.n_faces,
                     det_score=self.det_score,
                     header=np.frombuffer(json.dumps({
                         "key": self.key, "width": self.width, "height": self.height, "fps": self.fps,
                         "is_still": self.is_still, "meta": self.meta}).encode(), dtype=np.uint8))

    @classmethod
    def load(cls, path: Path) -> "FaceTrack":
        with np.load(path) as z:
            head = json.loads(z["header"].tobytes().decode())
            return cls(key=head["key"], width=head["width"], height=head["height"], fps=head["fps"],
                       landmarks=z["landmarks"], valid=z["valid"], n_faces=z["n_faces"],
                       det_score=z["det_score"], is_still=head["is_still"], meta=head["meta"])
