"""Lip-sync engines behind one interface (see base.Engine), a static table of them and a registry
that keeps them loaded."""
from .base import Engine, FrameIn, Patch, RenderJob
from .registry import ENGINES, EngineRegistry, EngineSpec, spec_for, specs

__all__ = ["Engine", "FrameIn", "Patch", "RenderJob", "ENGINES", "EngineRegistry", "EngineSpec", "spec_for",
           "specs"]
