"""Engine registry: each engine's model is loaded once per process and kept on its device."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from ..config import Settings
from ..errors import EngineError
from .base import Engine

log = logging.getLogger("lipsync.engines")


@dataclass(frozen=True)
class EngineSpec:
    """How to build an engine, and what to tell users about it."""

    name: str
    label: str
    description: str
    factory: Callable[[Settings], Engine]
    #: licence note shown where the engine is chosen
    licence: str = ""


_SPECS: dict[str, EngineSpec] = {}


def register(spec: EngineSpec) -> None:
    """Make an engine available by name."""
    _SPECS[spec.name] = spec


def specs() -> list[EngineSpec]:
    """All registered engines, in registration order."""
    _ensure_builtin_specs()
    return list(_SPECS.values())


def _ensure_builtin_specs() -> None:
    # imported here so that registering does not load heavy modules at import time
    from . import builtin, wav2lip  # noqa: F401


class EngineRegistry:
    """Loads engines on first use and keeps them (model weights stay on the device between jobs)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._loaded: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return [s.name for s in specs()]

    def get(self, name: str) -> Engine:
        """The loaded engine called ``name`` (loading it the first time). Raises EngineError."""
        _ensure_builtin_specs()
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            spec = _SPECS.get(name)
            if spec is None:
                raise EngineError(f"Unknown engine '{name}'. Available: {', '.join(_SPECS)}.")
            log.info("loading engine %s", name)
            engine = spec.factory(self.settings)
            self._loaded[name] = engine
            return engine

    def loaded(self) -> list[str]:
        with self._lock:
            return list(self._loaded)
