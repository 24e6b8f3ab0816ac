"""User-facing error types.

Every error the pipeline raises on purpose is a :class:`LipsyncError` whose message names the file and
what is wrong, in words a non-engineer can act on. The UI and API show ``str(err)`` as is.
"""
from __future__ import annotations


class LipsyncError(Exception):
    """Base class: an expected failure with a message fit for the user."""

    kind = "error"


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
