"""Face analysis cached on disk by the template's content hash (and in memory for this process)."""
from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path
from typing import Callable

from ..files import mark_used
from ..media import MediaInfo
from .analyse import ANALYSER_VERSION, analyse_template
from .track import FaceTrack

log = logging.getLogger("lipsync.face")


def content_hash(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (same video under another name = same template)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class FaceCache:
    """Explicit cache of FaceTracks: memory (a few recent) -> disk (``<dir>/<key>.npz``) -> analyse.

    Thread-safe; a template is analysed at most once even when asked for twice at the same time.
    """

    def __init__(self, directory: Path, memory_items: int = 8):
        self.directory = Path(directory)
        self._mem: OrderedDict[str, FaceTrack] = OrderedDict()
        self._memory_items = memory_items
        self._lock = threading.Lock()
        self.analyses = 0  # how many full analyses this process ran (tests and logs read it)

    @staticmethod
    def key_for(digest: str, fps: Fraction, face: int | None = None) -> str:
        tail = f"-face{face}" if face else ""  # each chosen face of a template is its own track
        return f"{digest[:32]}-v{ANALYSER_VERSION}-{fps.numerator}_{fps.denominator}{tail}"

    def path_for(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def peek(self, info: MediaInfo, fps: Fraction, digest: str | None = None,
             face: int | None = None) -> FaceTrack | None:
        """The cached track if there is one, without analysing."""
        key = self.key_for(digest or content_hash(info.path), fps, face)
        with self._lock:
            return self._lookup(key)

    def _lookup(self, key: str) -> FaceTrack | None:
        if key in self._mem:
            self._mem.move_to_end(key)
            return self._mem[key]
        path = self.path_for(key)
        if path.is_file():
            try:
                track = FaceTrack.load(path)
            except Exception as e:  # a damaged cache file is re-computed, never fatal
                log.warning("ignoring unreadable face cache %s: %s", path.name, e)
                return None
            self._remember(key, track)
            return track
        return None

    def _remember(self, key: str, track: FaceTrack) -> None:
        self._mem[key] = track
        self._mem.move_to_end(key)
        while len(self._mem) > self._memory_items:
            self._mem.popitem(last=False)

    def get(self, info: MediaInfo, fps: Fraction, digest: str | None = None,
            progress: Callable[[int], None] | None = None, face: int | None = None) -> FaceTrack:
        """The template's FaceTrack (of the chosen ``face``), analysing it only if no cache holds it."""
        key = self.key_for(digest or content_hash(info.path), fps, face)
        with self._lock:
            track = self._lookup(key)
            if track is not None:
                log.debug("face analysis cache hit for %s", info.path.name)
                mark_used(self.path_for(key))
                return track
            log.info("analysing faces in %s (first use of this template)", info.path.name)
            track = analyse_template(info, fps, key, progress, face)
            self.analyses += 1
            self.directory.mkdir(parents=True, exist_ok=True)
            try:
                track.save(self.path_for(key))
            except OSError as e:
                log.warning("could not save face cache for %s: %s", info.path.name, e)
            self._remember(key, track)
            return track
