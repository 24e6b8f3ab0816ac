"""Media I/O through one checked ffmpeg runner: probe, streaming decode, encode + mux."""
from .decode import decode_audio_16k, iter_video_frames, read_still
from .encode import VideoWriter
from .probe import MediaInfo, probe

__all__ = ["MediaInfo", "probe", "decode_audio_16k", "read_still", "iter_video_frames", "VideoWriter"]
