"""User-facing error types.

Every error the pipeline raises on purpose is a :class:`LipsyncError` carrying a catalogue message that
names the file and what is wrong, in words a non-engineer can act on: ``err.text(lang)`` in the reader's
language, ``str(err)`` in English (logs, HTTP API), ``err.code`` the stable key for scripts.
"""
from __future__ import annotations

from typing import Any

from .i18n import Msg


class LipsyncError(Exception):
    """Base class: an expected failure with a message fit for the user."""

    kind = "error"

    def __init__(self, key: str | Msg, **params: Any):
        self.msg = key if isinstance(key, Msg) else Msg(key, params)
        super().__init__(str(self.msg))

    @property
    def code(self) -> str:
        return self.msg.key

    def text(self, lang: str) -> str:
        return self.msg.text(lang)


class MediaError(LipsyncError):
    """An input file cannot be used (unreadable, wrong content, no stream, too long...)."""

    kind = "media"


class NoFaceError(LipsyncError):
    """The template shows no usable face."""

    kind = "no_face"


class EngineError(LipsyncError):
    """An engine could not be loaded or failed while rendering."""

    kind = "engine"


class OutputError(LipsyncError):
    """The result could not be written (disk full, folder not writable...)."""

    kind = "output"
