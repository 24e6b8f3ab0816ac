"""Files people hand in (through the page or over HTTP), kept under the data folder so a job can be
re-run from its own inputs later."""
from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from .naming import safe_stem


@dataclass(frozen=True)
class Upload:
    """A handed-in file: where it is now, and the name its owner gave it (shown in the history)."""

    path: Path
    name: str
    #: a temporary file of ours (an HTTP upload just received): moved into place instead of copied
    owned: bool = False

    @classmethod
    def of(cls, path: str | Path, name: str | None = None) -> Upload:
        """An upload named after its file unless ``name`` says otherwise."""
        path = Path(path)
        return cls(path, name or path.name)


def keep(uploads_dir: Path, upload: Upload) -> Path:
    """Put the upload into a fresh folder under ``uploads_dir`` (same-named uploads never collide): copied,
    or moved when it is ``owned``."""
    folder = uploads_dir / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"{safe_stem(upload.name, 120)}{Path(upload.name).suffix.lower()[:8]}"
    if upload.owned:
        shutil.move(upload.path, dest)
    else:
        shutil.copyfile(upload.path, dest)
    return dest
