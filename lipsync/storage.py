"""Disk space: what the studio's folders take, what is left, and the refusal of new work when too little is."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .errors import OutputError
from .i18n import DEFAULT, t

GB = 1024 ** 3
WARN_FACTOR = 2.0  # the page warns from twice the refusal threshold, so there is time to clean up


def folder_size(path: Path) -> int:
    """Bytes of all files under ``path`` (0 when it does not exist)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue  # removed meanwhile
    return total


@dataclass(frozen=True)
class Storage:
    """Space used by the studio's folders and free on the outputs' disk, in bytes."""

    outputs: int
    uploads: int
    caches: int
    free: int
    min_free: int

    @property
    def low(self) -> bool:
        return self.free < self.min_free

    @property
    def warn(self) -> bool:
        return self.free < WARN_FACTOR * self.min_free

    def text(self, lang: str = DEFAULT) -> str:
        """One line for the page, with a warning when space runs short."""
        line = t(lang, "storage.line", outputs=self.outputs / GB, uploads=self.uploads / GB,
                 caches=self.caches / GB, free=self.free / GB)
        if self.low:
            return line + "  \n" + t(lang, "storage.refusing", need=self.min_free / GB)
        return line + ("  \n" + t(lang, "storage.warning", need=self.min_free / GB) if self.warn else "")


def free_space(settings: Settings) -> int:
    """Bytes free on the outputs' disk (one cheap system call: fine on every request)."""
    settings.outputs_dir.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(settings.outputs_dir).free


def running_short(settings: Settings) -> bool:
    """Whether the page should warn: less than twice the refusal threshold free."""
    return free_space(settings) < WARN_FACTOR * settings.min_free_gb * GB


def storage(settings: Settings) -> Storage:
    """What the outputs, uploads and caches take now (walks the folders: not for every request), and the
    free space on the outputs' disk."""
    return Storage(outputs=folder_size(settings.outputs_dir), uploads=folder_size(settings.data_dir / "uploads"),
                   caches=folder_size(settings.cache_dir), free=free_space(settings),
                   min_free=int(settings.min_free_gb * GB))


def check_space(settings: Settings) -> None:
    """Raise OutputError (code ``err.disk_low``) when the outputs' disk has less free space than the
    threshold: refused before any work starts."""
    free = free_space(settings)
    if free < settings.min_free_gb * GB:
        raise OutputError("err.disk_low", free=free / GB, need=settings.min_free_gb)
