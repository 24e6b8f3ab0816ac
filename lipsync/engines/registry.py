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
    #: None when the engine can run here, else why not in plain words (checked before a batch starts)
    missing: Callable[[Settings], str | None] = lambda _settings: None


def _builtin(settings: Settings) -> Engine:
    from .builtin import BuiltinEngine

    return BuiltinEngine(settings)


def _wav2lip_missing(settings: Settings) -> str | None:
    from .wav2lip.weights import weights_missing

    return weights_missing(settings.checkpoints_dir)


def _wav2lip(settings: Settings) -> Engine:
    from .wav2lip.engine import Wav2LipEngine

    return Wav2LipEngine(settings)


WAV2LIP_LICENCE = ("Wav2Lip weights (trained on LRS2) are licensed for research / non-commercial use only. "
                   "Check the licence before publishing videos made with them.")

#: every engine, in the order users see them; the first is the offline default
ENGINES: tuple[EngineSpec, ...] = (
    EngineSpec(name="builtin", label="Built-in (no download)",
               description="Works offline with no model weights: reuses the template's own mouth movements, "
                           "or warps the lips of a still photo.",
               factory=_builtin, licence="Part of this application."),
    EngineSpec(name="wav2lip", label="Wav2Lip (neural, needs weights)",
               description="The Wav2Lip neural network. Needs its weights file in checkpoints/ "
                           "(downloaded once, or copied there).",
               factory=_wav2lip, licence=WAV2LIP_LICENCE, missing=_wav2lip_missing),
)


def specs() -> list[EngineSpec]:
    """All engines, in the order users see them."""
    return list(ENGINES)


def spec_for(name: str) -> EngineSpec:
    """The engine called ``name``. Raises EngineError listing the valid names."""
    for spec in ENGINES:
        if spec.name == name:
            return spec
    raise EngineError(f"Unknown engine '{name}'. Available: {', '.join(s.name for s in ENGINES)}.")


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
