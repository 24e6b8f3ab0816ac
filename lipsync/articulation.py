"""Audio -> articulation: per video frame a target mouth shape (opening, width, lip closure) from the
phonetic content of the audio, not only its loudness.

Phones come from pocketsphinx's phone-loop recogniser (its wheel bundles the US-English acoustic
model and a phone language model, so nothing is downloaded). English phones approximate other
languages well enough for lips: Mandarin b/p/m initials come out as B/P/M and u/o finals as
UW/OW/AO. Each phone maps to a viseme target; targets blend over neighbouring sounds
(coarticulation), closures are kept sharp, loudness scales the opening and silence closes the mouth.
The recognition is cached per audio (memory and disk), so a batch of templates recognises once.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d, uniform_filter1d

from .audio import HOP, speech_activity, stft_features
from .files import atomic_path, mark_used
from .media.decode import AUDIO_RATE

log = logging.getLogger("lipsync.articulation")

STEP_S = HOP / AUDIO_RATE        # 10 ms analysis steps (the recogniser's frame rate too)
RECOGNISER_VERSION = 1           # bump when recognition settings change (invalidates the disk cache)
# pocketsphinx phone-loop settings: a light language-model weight and a small phone insertion
# penalty keep short stops (b/p/m) that a stronger model would swallow
PHONE_LM_WEIGHT, PHONE_INSERTION = 2.0, 0.3
RECOGNISE_CHUNK_S = 30.0         # longest piece decoded at once (decoder memory grows with its length)
CUT_SEARCH_S = 5.0               # where to look for a pause to cut at, before each piece's end
COARTIC_SIGMA_S = 0.035          # blend of neighbouring shapes (about half a syllable's transition)
CLOSURE_SIGMA_S = 0.012          # closures stay sharp: lips press for 40-100 ms
MIN_CLOSURE_S = 0.04             # a recognised bilabial always shows as at least one closed frame at 25 fps
LOUDNESS_SHARE = 0.45            # part of the opening that follows loudness (the rest follows the phone)
UNKNOWN_OPENING = 0.35           # speech the recogniser calls silence or noise: a neutral half-open mouth
# Consonants show acoustically as a dip of the 300-3000 Hz energy between two vowels (stop closures are
# near-silent, nasal murmurs have little energy there). The recogniser misses many b/p/m, above all
# in other languages, so dips close the lips too: fully where it heard a bilabial, partly elsewhere
# (the jaw rises for every consonant).
DIP_BAND_HZ = (300.0, 3000.0)  # also catches m before u/o, whose energy lies low
DIP_CONTEXT_S = 0.15             # how far each side to look for the surrounding vowels
DIP_MIN_DB, DIP_FULL_DB = 6.0, 18.0  # valley depth at which a dip starts to count / counts fully
# how far a full dip closes the lips, by what the recogniser heard there
DIP_CLOSURE_LABIAL = 1.0         # b/p/m/f/v/w: the lips meet
DIP_CLOSURE_CONSONANT = 0.1      # s/n/l/r...: the jaw rises a little, the lips stay apart
DIP_CLOSURE_STOP = 0.5           # k/g/th: what the English model hears for Mandarin b/p (unaspirated)
STOPS = {"K", "G", "TH"}
DIP_CLOSURE_UNHEARD = 0.8        # silence/noise labels inside speech: often a missed stop
LABIALS = {"P", "B", "M", "F", "V", "W"}
LABIAL_TILT_DB = 6.0             # high/low band balance this far below the speaker's median = a lip sound
# Lip rounding lowers the second formant, spreading raises it: the spectral centroid of voiced speech
# (relative to the speaker's own range) tells width in any language, where the English phone labels
# of e.g. Mandarin u/o are often wrong. Width = a blend of both.
ACOUSTIC_WIDTH_SHARE = 0.5
# Spread sounds open the lips further than rounded ones at the same jaw height, and a low spectral
# centroid also marks nasal murmurs (lips closed or nearly): the opening rises with the width track.
# Chosen with bench/bench_targets.py on 16 real speakers (with the dip weights below: r 0.41 -> 0.52).
OPENING_FROM_WIDTH = 0.6
COUPLED_SCALE = 0.8              # keeps the opening's range where the renderers were calibrated


@dataclass(frozen=True)
class Viseme:
    """Target lip shape of one phone: opening 0..1, width -1 (rounded) .. 1 (spread), lips closed."""

    opening: float
    width: float
    closed: bool = False


_V = Viseme
#: ARPAbet phone (pocketsphinx en-us) -> lip shape. Vowel openings follow jaw height (AA lowest);
#: widths follow lip rounding (UW, OW, W rounded; IY, EY spread).
VISEMES: dict[str, Viseme] = {
    "P": _V(0, 0, True), "B": _V(0, 0, True), "M": _V(0, 0, True),
    "F": _V(0.08, 0.1), "V": _V(0.08, 0.1), "TH": _V(0.2, 0.2), "DH": _V(0.2, 0.2),
    "T": _V(0.25, 0.25), "D": _V(0.25, 0.25), "N": _V(0.22, 0.2), "L": _V(0.3, 0.1),
    "S": _V(0.15, 0.45), "Z": _V(0.15, 0.45), "SH": _V(0.2, -0.6), "ZH": _V(0.2, -0.6),
    "CH": _V(0.2, -0.55), "JH": _V(0.2, -0.55), "K": _V(0.35, 0.1), "G": _V(0.35, 0.1),
    "NG": _V(0.3, 0.1), "HH": _V(0.45, 0.0), "R": _V(0.25, -0.5), "W": _V(0.12, -1.0),
    "Y": _V(0.25, 0.5),
    "AA": _V(1.0, 0.1), "AE": _V(0.85, 0.5), "AH": _V(0.7, 0.1), "AO": _V(0.8, -0.55),
    "AW": _V(0.8, -0.3), "AY": _V(0.85, 0.25), "EH": _V(0.6, 0.5), "ER": _V(0.4, -0.4),
    "EY": _V(0.5, 0.6), "IH": _V(0.4, 0.6), "IY": _V(0.3, 0.9), "OW": _V(0.55, -0.8),
    "OY": _V(0.6, -0.5), "UH": _V(0.35, -0.7), "UW": _V(0.25, -1.0),
}


@dataclass(frozen=True)
class PhoneSegment:
    phone: str
    start: float   #: seconds
    end: float     #: seconds (exclusive)


@dataclass(frozen=True)
class MouthTargets:
    """Per output frame: opening 0..1, width -1..1, closure 0..1 (1 = lips pressed), speech bool."""

    openness: np.ndarray
    width: np.ndarray
    closure: np.ndarray
    speech: np.ndarray


def _chunk_bounds(samples: np.ndarray, max_s: float = RECOGNISE_CHUNK_S) -> list[tuple[int, int]]:
    """Cut long audio into pieces of at most ``max_s`` seconds, each cut at the quietest 10 ms of
    the last few seconds before the limit (a pause, not the middle of a word)."""
    step, limit = HOP, int(max_s * AUDIO_RATE)
    bounds, a = [], 0
    while samples.size - a > limit:
        lo = a + limit - int(CUT_SEARCH_S * AUDIO_RATE)
        frames = samples[lo:a + limit][: (a + limit - lo) // step * step].reshape(-1, step)
        # energy averaged over 300 ms: the cut lands inside a pause, not at its edge
        energy = uniform_filter1d((frames.astype(np.float64) ** 2).sum(axis=1), 30, mode="nearest")
        cut = lo + int(np.argmin(energy)) * step
        bounds.append((a, cut))
        a = cut
    bounds.append((a, samples.size))
    return bounds


def recognise_phones(samples: np.ndarray) -> list[PhoneSegment]:
    """Phones with their times in 16 kHz mono speech (pocketsphinx phone loop, bundled model).

    Long recordings are decoded piece by piece, so memory does not grow with their length.
    """
    import os

    from pocketsphinx import Decoder, get_model_path

    if samples.size == 0:
        return []
    decoder = Decoder(allphone=os.path.join(get_model_path(), "en-us", "en-us-phone.lm.bin"),
                      lw=PHONE_LM_WEIGHT, pip=PHONE_INSERTION, beam=1e-20, pbeam=1e-20,
                      loglevel="FATAL")
    out: list[PhoneSegment] = []
    for a, b in _chunk_bounds(samples):
        pcm = (np.clip(samples[a:b], -1, 1) * 32767).astype("<i2").tobytes()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        t0 = a / AUDIO_RATE
        out += [PhoneSegment(s.word, t0 + s.start_frame * STEP_S, t0 + (s.end_frame + 1) * STEP_S)
                for s in decoder.seg()]
    return out


class PhoneCache:
    """Recognised phones per audio content: memory (recent few) -> ``<dir>/<hash>.json`` -> recognise.

    Thread-safe; recognition runs outside the lock (two different audios may recognise at once).
    """

    def __init__(self, directory: Path | None, memory_items: int = 4):
        self.directory = Path(directory) if directory else None
        self._mem: OrderedDict[str, list[PhoneSegment]] = OrderedDict()
        self._memory_items = memory_items
        self._lock = threading.Lock()
        self.recognitions = 0  # how many recognitions this process ran (tests read it)

    @staticmethod
    def key_for(samples: np.ndarray) -> str:
        digest = hashlib.sha256(np.ascontiguousarray(samples, np.float32).tobytes()).hexdigest()
        return f"{digest[:32]}-v{RECOGNISER_VERSION}"

    def get(self, samples: np.ndarray) -> list[PhoneSegment]:
        key = self.key_for(samples)
        with self._lock:
            if key in self._mem:
                self._mem.move_to_end(key)
                return self._mem[key]
        phones = self._load(key)
        if phones is None:
            phones = recognise_phones(samples)
            self.recognitions += 1
            self._save(key, phones)
        with self._lock:
            self._mem[key] = phones
            while len(self._mem) > self._memory_items:
                self._mem.popitem(last=False)
        return phones

    def _path(self, key: str) -> Path | None:
        return self.directory / f"{key}.json" if self.directory else None

    def _load(self, key: str) -> list[PhoneSegment] | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            phones = [PhoneSegment(p, s, e) for p, s, e in json.loads(path.read_text())]
            mark_used(path)
            return phones
        except (OSError, ValueError, TypeError):
            log.warning("ignoring unreadable phone cache %s", path)
            return None

    def _save(self, key: str, phones: list[PhoneSegment]) -> None:
        path = self._path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps([[p.phone, p.start, p.end] for p in phones]))


def _phone_tracks(phones: list[PhoneSegment], n_steps: int) -> tuple[np.ndarray, ...]:
    """Per 10 ms step: viseme opening, width, closure, whether a known phone covers it, and how far
    an acoustic dip there should close the lips."""
    opening, width = np.zeros(n_steps), np.zeros(n_steps)
    closure, known = np.zeros(n_steps), np.zeros(n_steps, bool)
    dip_weight = np.full(n_steps, DIP_CLOSURE_UNHEARD)
    for p in phones:
        v = VISEMES.get(p.phone)
        a = int(round(p.start / STEP_S))
        b = max(a + 1, int(round(p.end / STEP_S)))
        if v is None:
            continue
        is_vowel = p.phone[0] in "AEIOU"
        dip_weight[max(a, 0):b] = DIP_CLOSURE_LABIAL if p.phone in LABIALS else \
            0.0 if is_vowel else DIP_CLOSURE_STOP if p.phone in STOPS else DIP_CLOSURE_CONSONANT
        if v.closed:
            # lips close for the stop; centre a minimum-length closure on it
            mid, half = (a + b) / 2, max(b - a, MIN_CLOSURE_S / STEP_S) / 2
            a, b = int(np.floor(mid - half)), int(np.ceil(mid + half))
            closure[max(a, 0):max(b, 0)] = 1.0
        opening[max(a, 0):b], width[max(a, 0):b] = v.opening, v.width
        known[max(a, 0):b] = True
    return opening, width, closure, known, dip_weight


def labiality(samples: np.ndarray, rate: int = AUDIO_RATE) -> np.ndarray:
    """Per 10 ms step 0..1: how much the spectrum looks like a lip sound (energy kept low: a b/p/m
    murmur or release has little above 3 kHz, unlike t/s/k), relative to this speaker's speech."""
    freqs = librosa.fft_frequencies(sr=rate, n_fft=512)
    low, high = (freqs >= 300) & (freqs < 3000), freqs >= 3000

    def tilt(mag: np.ndarray) -> np.ndarray:
        p = mag ** 2
        return 10 * np.log10((p[high].sum(axis=0) + 1e-10) / (p[low].sum(axis=0) + 1e-10))

    t = gaussian_filter1d(stft_features(samples, 512, HOP, 400, tilt, pad_mode="constant"), 2.0)
    return np.clip((np.median(t) - t) / LABIAL_TILT_DB, 0, 1)


def consonant_dips(samples: np.ndarray, rate: int = AUDIO_RATE) -> np.ndarray:
    """Per 10 ms step 0..1: how deep a valley of 300-3000 Hz energy lies between louder sounds."""
    freqs = librosa.fft_frequencies(sr=rate, n_fft=512)
    band = (freqs >= DIP_BAND_HZ[0]) & (freqs <= DIP_BAND_HZ[1])
    power = stft_features(samples, 512, HOP, 400, lambda mag: (mag[band] ** 2).sum(axis=0),
                          pad_mode="constant")
    db = gaussian_filter1d(10 * np.log10(power + 1e-10), 1.0)
    ctx = int(round(DIP_CONTEXT_S / STEP_S))
    padded = np.pad(db, ctx, mode="edge")
    left = maximum_filter1d(padded, ctx + 1, origin=ctx // 2)[ctx:-ctx]
    right = maximum_filter1d(padded, ctx + 1, origin=-(ctx // 2))[ctx:-ctx]
    depth = np.minimum(left, right) - db
    return np.clip((depth - DIP_MIN_DB) / (DIP_FULL_DB - DIP_MIN_DB), 0, 1)


def acoustic_width(centroid: np.ndarray, vad: np.ndarray) -> np.ndarray:
    """-1 (rounded) .. 1 (spread) from the spectral centroid, relative to this speaker's speech."""
    c = centroid[vad]
    if c.size < 10:
        return np.zeros_like(centroid)
    lo, mid, hi = np.percentile(c, [10, 50, 90])
    return np.clip((centroid - mid) / max((hi - lo) / 2, 1.0), -1, 1)


def articulation_steps(samples: np.ndarray, phones: list[PhoneSegment],
                       rate: int = AUDIO_RATE) -> MouthTargets:
    """Targets per 10 ms step from the phones and the loudness (silence closes the mouth)."""
    vad, level, centroid = speech_activity(samples, rate)
    n = vad.size
    opening, width, closure, known, dip_weight = _phone_tracks(phones, n)
    opening = np.where(known, opening, UNKNOWN_OPENING)
    opening = opening * ((1 - LOUDNESS_SHARE) + LOUDNESS_SHARE * np.sqrt(level)) * vad
    width = np.where(known, width, 0.0)
    width = ((1 - ACOUSTIC_WIDTH_SHARE) * width + ACOUSTIC_WIDTH_SHARE * acoustic_width(centroid, vad)) * vad
    opening = np.clip(opening + OPENING_FROM_WIDTH * width, 0, None) * COUPLED_SCALE
    dips = consonant_dips(samples, rate)[:n]
    # a dip where the recogniser heard another consonant still closes fully if it sounds labial
    lab = np.pad(labiality(samples, rate)[:n], (0, max(0, n - dips.size)))
    consonant = (dip_weight > 0) & (dip_weight < DIP_CLOSURE_LABIAL)
    dip_weight = np.where(consonant, dip_weight + (DIP_CLOSURE_LABIAL - dip_weight) * lab, dip_weight)
    closure = np.maximum(closure, dip_weight * np.pad(dips, (0, n - dips.size))) * vad
    sig = COARTIC_SIGMA_S / STEP_S
    opening = gaussian_filter1d(opening, sig, mode="nearest")
    width = gaussian_filter1d(width, sig * 1.5, mode="nearest")  # rounding spreads further (anticipation)
    closure = np.clip(gaussian_filter1d(closure, CLOSURE_SIGMA_S / STEP_S, mode="nearest") * 1.6, 0, 1)
    return MouthTargets(openness=opening * (1 - closure), width=np.clip(width, -1, 1),
                        closure=closure, speech=vad)


def frame_targets(steps: MouthTargets, fps: float, n_frames: int, lead_s: float) -> MouthTargets:
    """Resample step targets to video frames: frame j shows the sound at j/fps + lead (lips lead).

    Opening and width are averaged over the frame's duration (no aliasing); a closure anywhere in
    the frame's time shows in that frame, so short b/p/m are never skipped.
    """
    n = steps.openness.size
    t = (np.arange(n_frames) + 0.5) / fps + lead_s
    idx = np.clip(np.round(t / STEP_S).astype(int), 0, max(n - 1, 0))
    half = max(1, int(round(0.5 / fps / STEP_S)))
    lo, hi = np.clip(idx - half, 0, n), np.clip(idx + half + 1, 0, n)

    def mean(x: np.ndarray) -> np.ndarray:
        c = np.concatenate([[0.0], np.cumsum(x)])
        return (c[hi] - c[lo]) / np.maximum(hi - lo, 1)

    if n == 0:
        z = np.zeros(n_frames, np.float32)
        return MouthTargets(z, z, z, z.astype(bool))
    closure = maximum_filter1d(steps.closure, size=2 * half + 1, mode="nearest")[idx]
    opening = mean(steps.openness) * (1 - closure)
    return MouthTargets(openness=np.clip(opening, 0, 1).astype(np.float32),
                        width=mean(steps.width).astype(np.float32),
                        closure=closure.astype(np.float32), speech=steps.speech[idx])


def mouth_targets(samples: np.ndarray, fps: float, n_frames: int, lead_s: float = 0.04,
                  phones: PhoneCache | None = None) -> MouthTargets:
    """Per-frame mouth targets of a driving audio (recognising its phones, through ``phones``)."""
    segs = (phones or PhoneCache(None)).get(samples)
    return frame_targets(articulation_steps(samples, segs), fps, n_frames, lead_s)
