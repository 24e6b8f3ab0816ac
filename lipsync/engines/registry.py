"""The engines users can choose from (a static table), and the registry that loads each one once.

Factories import their engine module only when called, so ``import lipsync`` loads no model code and
no engine module imports this one back (no cycle, nothing registered at import time).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from ..config import Settings
from ..errors import EngineError
from ..i18n import Msg, msg
from .base import Engine

log = logging.getLogger("lipsync.engines")


@dataclass(frozen=True)
class EngineSpec:
    """How to build an engine, and what to tell users about it."""

    name: str
    label: Msg
    description: Msg
    factory: Callable[[Settings], Engine]
    #: licence note shown where the engine is chosen
    licence: Msg
    #: None when the engine can run here, else why not in plain words (checked before a batch starts)
    missing: Callable[[Settings], Msg | None] = lambda _settings: None


def _builtin(settings: Settings) -> Engine:
    from .builtin import BuiltinEngine

    return BuiltinEngine(settings)


def _wav2lip_missing(settings: Settings) -> Msg | None:
    from .wav2lip.weights import weights_missing

    return weights_missing(settings.checkpoints_dir)


def _wav2lip(settings: Settings) -> Engine:
    from .wav2lip.engine import Wav2LipEngine

    return Wav2LipEngine(settings)


#: every engine, in the order users see them; the first is the offline default
ENGINES: tuple[EngineSpec, ...] = (
    EngineSpec(name="builtin", label=msg("engine.builtin_label"), description=msg("engine.builtin_about"),
               factory=_builtin, licence=msg("engine.builtin_licence")),
    EngineSpec(name="wav2lip", label=msg("engine.wav2lip_label"), description=msg("engine.wav2lip_about"),
               factory=_wav2lip, licence=msg("engine.wav2lip_licence"), missing=_wav2lip_missing),
)


def specs() -> list[EngineSpec]:
    """All engines, in the order users see them."""
    return list(ENGINES)


def spec_for(name: str) -> EngineSpec:
    """The engine called ``name``. Raises EngineError listing the valid names."""
    for spec in ENGINES:
        if spec.name == name:
            return spec
    raise EngineError("err.unknown_engine", name=name, names=", ".join(s.name for s in ENGINES))


class EngineRegistry:
    """Loads engines on first use and keeps them (model weights stay on the device between jobs)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._loaded: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return [s.name for s in ENGINES]

    def get(self, name: str) -> Engine:
        """The loaded engine called ``name`` (loading it the first time). Raises EngineError."""
        spec = spec_for(name)
        with self._lock:
            if name not in self._loaded:
                log.info("loading engine %s", name)
                self._loaded[name] = spec.factory(self.settings)
            return self._loaded[name]

    def loaded(self) -> list[str]:
        with self._lock:
            return list(self._loaded)
