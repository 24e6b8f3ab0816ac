"""Local lip-sync studio: make a talking-head video say a new recording.

The public surface is the service API; UI, HTTP API and CLI are thin shells over it.
"""
from .config import JobOptions, Settings
from .errors import EngineError, LipsyncError, MediaError, NoFaceError, OutputError
from .pipeline import JobResult, Progress
from .service import BatchProgress, BatchResult, ItemResult, LipsyncService

__all__ = ["JobOptions", "Settings", "LipsyncService", "BatchResult", "ItemResult", "BatchProgress",
           "JobResult", "Progress", "LipsyncError", "MediaError", "NoFaceError", "EngineError",
           "OutputError"]
