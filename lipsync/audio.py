"""Audio loading and per-video-frame features (mouth targets for the built-in engine)."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
from scipy.ndimage import binary_closing, binary_opening

from .errors import MediaError
from .media import MediaInfo, decode_audio_16k, probe
from .media.decode import AUDIO_RATE

log = logging.getLogger("lipsync.audio")

HOP = 160  # 10 ms at 16 kHz


@dataclass(frozen=True)
class AudioTrack:
    """A decoded driving audio: the source file (muxed unchanged in content) and 16 kHz mono samples."""

    path: Path
    info: MediaInfo
    samples: np.ndarray
    rate: int = AUDIO_RATE

    @property
    def duration(self) -> float:
        return self.samples.size / self.rate


def load_audio(path: str | Path, max_seconds: float = 3600.0) -> AudioTrack:
    """Probe and decode the driving audio (any audio file, or a video's audio track).

    The length limit is checked from the container before decoding, so a huge file is refused cheaply.
    """
    info = probe(path)
    if not info.has_audio:
        raise MediaError("err.video_without_sound" if info.has_video else "err.not_audio", file=info.path.name)
    if info.duration is not None and info.duration > max_seconds:
        raise MediaError("err.audio_too_long", file=info.path.name, minutes=info.duration / 60,
                         limit=max_seconds / 60)
    samples = decode_audio_16k(info)
    if samples.size / AUDIO_RATE > max_seconds:
        raise MediaError("err.audio_over_limit", file=info.path.name, limit=max_seconds / 60)
    return AudioTrack(path=info.path, info=info, samples=samples)


class AudioCache:
    """The most recently decoded audio (or why it could not be decoded), keyed by file, size and
    modification time: a batch decodes its one recording once, and a bad recording fails each of
    its items at once. Thread-safe; holds one audio, so memory does not grow with a batch."""

    def __init__(self, max_seconds: float = 3600.0):
        self.max_seconds = max_seconds
        self._key: tuple | None = None
        self._value: AudioTrack | MediaError | None = None
        self._lock = threading.Lock()
        self.decodes = 0  # how many decodes this cache ran (tests read it)

    def get(self, path: str | Path) -> AudioTrack:
        """The decoded audio of ``path``; raises the MediaError that decoding raised."""
        p = Path(path)
        try:
            st = p.stat()
            key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
        except OSError:
            raise MediaError("err.audio_gone", file=p.name) from None
        with self._lock:
            if key != self._key:
                try:
                    self._value = load_audio(p, self.max_seconds)
                except MediaError as e:
                    self._value = e
                self._key = key
                self.decodes += 1
            value = self._value
        if isinstance(value, MediaError):
            raise value
        return value


def stft_features(samples: np.ndarray, n_fft: int, hop: int, win: int, fn, chunk_frames: int = 3000,
                  pad_mode: str = "reflect") -> np.ndarray:
    """``fn(|STFT|)`` computed chunk by chunk, identical to one centred STFT of the whole signal.

    A long recording never needs its whole spectrogram in memory: each chunk is framed from the
    padded signal exactly where a single centred STFT would frame it.
    """
    padded = np.pad(samples, n_fft // 2, mode=pad_mode)
    n_frames = 1 + (padded.size - n_fft) // hop
    parts = []
    for a in range(0, n_frames, chunk_frames):
        b = min(n_frames, a + chunk_frames)
        seg = padded[a * hop:(b - 1) * hop + n_fft]
        mag = np.abs(librosa.stft(seg, n_fft=n_fft, hop_length=hop, win_length=win, center=False))
        parts.append(fn(mag))
    return np.concatenate(parts, axis=-1)


def speech_activity(samples: np.ndarray, rate: int = AUDIO_RATE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per 10 ms: (voice activity bool, loudness level 0..1 within speech, spectral centroid in Hz)."""
    freqs = librosa.fft_frequencies(sr=rate, n_fft=512)
    band = (freqs >= 200) & (freqs <= 4000)

    def band_stats(mag: np.ndarray) -> np.ndarray:
        spec = mag[band] ** 2
        total = spec.sum(axis=0)
        return np.stack([total / 512, (freqs[band, None] * spec).sum(axis=0) / (total + 1e-12)])

    power, centroid = stft_features(samples, 512, HOP, 400, band_stats, pad_mode="constant")
    db = 10 * np.log10(power + 1e-12)
    noise, peak = np.percentile(db, 10), np.percentile(db, 97)
    if peak < -65:  # digital silence or near it
        z = np.zeros(db.size)
        return z.astype(bool), z, z
    thr = noise + max(8.0, 0.3 * (peak - noise))
    vad = db > thr
    vad = binary_closing(vad, structure=np.ones(15))  # bridge gaps < 150 ms
    vad = binary_opening(vad, structure=np.ones(6))  # drop blips < 60 ms
    level = np.clip((db - thr) / max(peak - thr, 1e-6), 0, 1) * vad
    return vad, level, centroid


# -- Wav2Lip audio features -------------------------------------------------------------------------
# The official preprocessing (hparams of the release): reproduced exactly, checked against a golden mel.
W2L_N_FFT, W2L_HOP, W2L_WIN, W2L_MELS, W2L_FMIN, W2L_FMAX = 800, 200, 800, 80, 55, 7600
W2L_MEL_STEP = 16  # mel frames per video frame window
W2L_MEL_FPS = 80.0  # mel frames per second (16 kHz / hop 200)


def wav2lip_mel(samples: np.ndarray, rate: int = AUDIO_RATE) -> np.ndarray:
    """80 x T log-mel spectrogram as the official Wav2Lip code computes it (float32).

    Pre-emphasis 0.97, |STFT| with reflect padding (librosa < 0.9's default, which the release used),
    Slaney mel filterbank 55-7600 Hz, 20*log10 - 20 dB, then scaled and clipped to [-4, 4].
    """
    from scipy.signal import lfilter

    y = lfilter([1, -0.97], [1], samples.astype(np.float64))
    mel_basis = librosa.filters.mel(sr=rate, n_fft=W2L_N_FFT, n_mels=W2L_MELS, fmin=W2L_FMIN, fmax=W2L_FMAX)

    def to_mel(mag: np.ndarray) -> np.ndarray:
        db = 20 * np.log10(np.maximum(1e-5, mel_basis @ mag)) - 20
        return np.clip(8 * (db + 100) / 100 - 4, -4, 4).astype(np.float32)

    return stft_features(y, W2L_N_FFT, W2L_HOP, W2L_WIN, to_mel)


def wav2lip_mel_window(mel: np.ndarray, frame: int, fps: float) -> np.ndarray:
    """The 80 x 16 mel window for video frame ``frame`` (official indexing; the end is clamped)."""
    start = int(frame * W2L_MEL_FPS / fps)
    if start + W2L_MEL_STEP > mel.shape[1]:
        return mel[:, -W2L_MEL_STEP:] if mel.shape[1] >= W2L_MEL_STEP else \
            np.pad(mel, ((0, 0), (0, W2L_MEL_STEP - mel.shape[1])), constant_values=-4)
    return mel[:, start:start + W2L_MEL_STEP]
