"""Lip-sync engines behind one interface (see base.Engine) and a registry that keeps them loaded."""
from .base import Engine, FrameIn, Patch, RenderJob
from .registry import EngineRegistry, EngineSpec, register, specs

__all__ = ["Engine", "FrameIn", "Patch", "RenderJob", "EngineRegistry", "EngineSpec", "register", "specs"]
