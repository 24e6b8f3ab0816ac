"""Face analysis: MediaPipe landmarks per template frame, smoothed, cached by content hash."""
from .cache import FaceCache, content_hash
from .track import FaceTrack

__all__ = ["FaceCache", "FaceTrack", "content_hash"]
