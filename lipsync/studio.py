"""The running application's core: service + job history + one-at-a-time runner.

The web UI and the HTTP API both submit work here, so every job, whoever sent it, runs on the
same worker one after the other.
"""
from __future__ import annotations

import logging
import os
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import Callable, Sequence

from .config import JobOptions, Settings
from .files import atomic_path
from .jobs import JobRunner, JobStore, Ticket
from .media.encode import PARTIAL_SUFFIX
from .naming import safe_stem
from .service import BatchProgress, BatchResult, LipsyncService, zip_path_for

log = logging.getLogger("lipsync.studio")


def _owner_alive(name: str) -> bool:
    """Work folders are named ``job-<pid>-...``: is that process still running?"""
    parts = name.split("-")
    if len(parts) < 3 or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return int(parts[1]) != os.getpid()


class Studio:
    """Owns the service (models and caches), the SQLite history and the worker thread."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = JobStore(settings.data_dir / "jobs.sqlite3")
        n = self.store.mark_unfinished_interrupted()
        if n:
            log.warning("%d job(s) were interrupted by the last shutdown", n)
        self.service = LipsyncService(settings, self.store)
        self.runner = JobRunner()
        self.clean_leftovers()

    def clean_leftovers(self) -> int:
        """Remove what a killed process left half-written: partial videos, temp files, work folders."""
        removed = 0
        patterns = [(self.settings.outputs_dir, f"*/.*{PARTIAL_SUFFIX}"), (self.settings.outputs_dir, "*/.*.tmp"),
                    (self.settings.data_dir, "library/.*.tmp"), (self.settings.cache_dir, "faces/.*.tmp")]
        for root, pattern in patterns:
            for path in root.glob(pattern):
                path.unlink(missing_ok=True)
                removed += 1
        work = self.settings.work_dir
        if work.is_dir():
            for path in work.iterdir():
                if _owner_alive(path.name):
                    continue  # another process (e.g. a CLI run) is still using it
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("start-up: removed %d leftover temporary file(s)", removed)
        return removed

    def resume(self, batch: str) -> Ticket:
        """Queue the unfinished items of a recorded batch (finished ones are skipped)."""
        return self._submit("resume", lambda on_progress: self.service.resume_batch(batch, on_progress))

    @property
    def uploads_dir(self) -> Path:
        return self.settings.data_dir / "uploads"

    def keep_upload(self, src: str | Path, name: str | None = None) -> Path:
        """Copy an uploaded file into the data dir (inputs are kept so a job can be re-run)."""
        src = Path(src)
        name = name or src.name
        folder = self.uploads_dir / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True, exist_ok=True)
        suffix = Path(name).suffix.lower()[:8]
        dest = folder / f"{safe_stem(name, 120)}{suffix}"
        shutil.copyfile(src, dest)
        return dest

    def submit_batch(self, audios: Sequence[Path], templates: Sequence[Path], options: JobOptions,
                     names: dict[str, str] | None = None, kind: str = "batch") -> Ticket:
        """Queue a batch; the ticket's ``progress`` holds the latest BatchProgress, ``result`` the BatchResult."""
        return self._submit(kind, lambda on_progress: self.service.generate_batch(
            list(audios), list(templates), options, on_progress, names=names))

    def _submit(self, kind: str, work: Callable[[Callable[[BatchProgress], None]], BatchResult]) -> Ticket:
        """Queue ``work(on_progress)``; progress goes to the ticket, and finished videos into the ZIP."""
        def run(ticket: Ticket) -> BatchResult:
            def on_progress(p: BatchProgress) -> None:
                ticket.progress = p
            batch = work(on_progress)
            if batch.done:
                self.zip_batch(batch)
            return batch

        return self.runner.submit(kind, run)

    def options(self, engine: str | None) -> JobOptions:
        return JobOptions(engine=engine or self.settings.engine)

    def zip_batch(self, batch: BatchResult) -> Path:
        """A ZIP of the batch's finished videos and manifest (written next to them)."""
        with atomic_path(batch.zip_path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            for item in batch.done:
                z.write(item.output, item.output.name)
            if batch.manifest.exists():
                z.write(batch.manifest, "manifest.json")
        return batch.zip_path

    def resolve_output(self, batch: str, name: str) -> Path | None:
        """The produced file ``outputs/<batch>/<name>``, only if the history says the app made it."""
        root = self.settings.outputs_dir.resolve()
        path = (root / batch / name).resolve()
        if path.parent.parent != root or not path.is_file():
            return None
        return path if self.store.by_output(self.settings.outputs_dir / batch / name) else None

    def resolve_zip(self, batch: str) -> Path | None:
        """The ZIP the app made for ``outputs/<batch>``, if there is one."""
        root = self.settings.outputs_dir.resolve()
        folder = (root / batch).resolve()
        if folder.parent != root:
            return None
        path = zip_path_for(folder)
        return path if path.is_file() else None
