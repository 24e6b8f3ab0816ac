"""Local lip-sync studio: make a talking-head video say a new recording.

The public surface is the Studio: the one API that the web UI, the HTTP API, the CLI and scripts call.
"""
from .batch import BatchProgress, BatchResult, ItemResult
from .config import JobOptions, Settings
from .errors import EngineError, LipsyncError, MediaError, NoFaceError, OutputError
from .pipeline import JobResult, JobSpec, Progress
from .studio import Studio

__all__ = ["JobOptions", "Settings", "Studio", "BatchResult", "ItemResult", "BatchProgress",
           "JobResult", "JobSpec", "Progress", "LipsyncError", "MediaError", "NoFaceError", "EngineError",
           "OutputError"]
