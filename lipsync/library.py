"""The template library: checked templates kept by content (``<hash>__<name>.<ext>``), each with the face
that speaks when its picture shows several (``.faces/<hash>``)."""
from __future__ import annotations

import shutil
from pathlib import Path

from .errors import LipsyncError
from .face import content_hash
from .files import atomic_path
from .naming import safe_stem


class TemplateLibrary:
    """Files in one folder; the same video is stored once whatever it is called."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def keep(self, path: Path, name: str, face: int | None = None) -> Path:
        """Store a copy (or find the stored one) and remember its face; returns the library file."""
        digest = content_hash(path)[:12]
        self.folder.mkdir(parents=True, exist_ok=True)
        target = next(iter(self.folder.glob(f"{digest}__*")), None)
        if target is None:
            suffix = Path(name).suffix.lower() if Path(name).suffix else path.suffix
            target = self.folder / f"{digest}__{safe_stem(name)}{suffix}"
            with atomic_path(target) as tmp:
                shutil.copyfile(path, tmp)
        self._set_face(digest, face)
        return target

    def entries(self) -> list[Path]:
        """Templates kept, newest first."""
        if not self.folder.is_dir():
            return []
        files = [p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")]
        return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)

    @staticmethod
    def label(path: Path) -> str:
        """The name a library file is shown by (without its content-hash prefix)."""
        return Path(path).name.split("__", 1)[-1]

    def face(self, entry: Path) -> int | None:
        """The face chosen for a library template (None: the only or most visible one)."""
        mark = self._face_file(_digest(entry))
        return int(mark.read_text()) if mark.is_file() else None

    def rename(self, entry: Path, new_name: str) -> Path:
        """Give a template another name (its face analysis stays cached: same content)."""
        entry = self.entry(entry)
        target = entry.with_name(f"{_digest(entry)}__{safe_stem(new_name)}{entry.suffix}")
        entry.rename(target)
        return target

    def remove(self, entry: Path) -> None:
        entry = self.entry(entry)
        self._face_file(_digest(entry)).unlink(missing_ok=True)
        entry.unlink()

    def entry(self, entry: Path) -> Path:
        """``entry`` if it is a file of this library (no path tricks), else LipsyncError."""
        entry = Path(entry)
        if entry.resolve().parent != self.folder.resolve() or not entry.is_file():
            raise LipsyncError("err.not_in_library", file=entry.name)
        return entry

    def _face_file(self, digest: str) -> Path:
        return self.folder / ".faces" / digest

    def _set_face(self, digest: str, face: int | None) -> None:
        mark = self._face_file(digest)
        if face is None:
            mark.unlink(missing_ok=True)
            return
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.write_text(str(int(face)))


def _digest(entry: Path) -> str:
    """The content-hash prefix of a library file's name (``<hash>__<name>.<ext>``)."""
    return Path(entry).name.split("__", 1)[0]
