"""What stays loaded between jobs: engines, the face-analysis cache and the audio cache."""
from __future__ import annotations

from dataclasses import dataclass, field

from .audio import AudioCache
from .config import Settings
from .engines import EngineRegistry
from .face import FaceCache


@dataclass
class Runtime:
    """The loaded things one process reuses for every job (all thread-safe caches)."""

    settings: Settings
    engines: EngineRegistry = field(init=False)
    face_cache: FaceCache = field(init=False)
    audio_cache: AudioCache = field(init=False)

    def __post_init__(self) -> None:
        self.engines = EngineRegistry(self.settings)
        self.face_cache = FaceCache(self.settings.cache_dir / "faces")
        self.audio_cache = AudioCache(self.settings.max_audio_seconds)
