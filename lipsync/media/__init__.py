"""Media I/O through one checked ffmpeg runner: probe, streaming decode, encode + mux."""
from .probe import MediaInfo, probe
from .decode import decode_audio_16k, read_still, iter_video_frames
from .encode import VideoWriter

__all__ = ["MediaInfo", "probe", "decode_audio_16k", "read_still", "iter_video_frames", "VideoWriter"]
