"""Retention: old batches archived (or deleted), uploads no job needs any more removed, caches of
templates not used for a while dropped. Run daily inside the app (``--keep-days``) or from cron:

    python -m lipsync.housekeeping --keep-days 90 [--archive /mnt/archive]
"""
from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from .i18n import from_environment, t
from .jobs.audit import Actor, AuditLog
from .jobs.store import JobStore

log = logging.getLogger("lipsync.housekeeping")
UPLOAD_GRACE_S = 3600  # an upload younger than this may belong to a batch being planned right now
CACHE_FOLDERS = ("faces", "phones")


@dataclass
class Swept:
    """What one pass did."""

    archived: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    uploads_removed: int = 0
    caches_removed: int = 0


def sweep(store: JobStore, audit: AuditLog, outputs: Path, data: Path, keep_days: int,
          archive: Path | None = None, now: datetime | None = None) -> Swept:
    """One retention pass over batches older than ``keep_days`` (nothing with work still to run)."""
    now = now or datetime.now()
    cutoff = (now - timedelta(days=keep_days)).isoformat(timespec="seconds")
    done = Swept()
    for b in store.batches():
        if b["busy"] or b["archived"] or not b["newest"] or b["newest"] >= cutoff:
            continue
        folder = outputs / b["batch"]
        if archive is not None:
            target = archive / b["batch"]
            archive.mkdir(parents=True, exist_ok=True)
            if folder.is_dir():
                shutil.move(str(folder), str(target))
            store.mark_archived(b["batch"], "archived", target)
            audit.record("archive", Actor(client="housekeeping"), batch=b["batch"], detail=str(target))
            done.archived.append(b["batch"])
        else:
            shutil.rmtree(folder, ignore_errors=True)
            store.mark_archived(b["batch"], "deleted", None)
            audit.record("retention_delete", Actor(client="housekeeping"), batch=b["batch"])
            done.deleted.append(b["batch"])
    done.uploads_removed = _sweep_uploads(store, data / "uploads")
    done.caches_removed = _sweep_caches(data / "cache", now - timedelta(days=keep_days))
    log.info("housekeeping: %d archived, %d deleted, %d uploads and %d cache files removed", len(done.archived),
             len(done.deleted), done.uploads_removed, done.caches_removed)
    return done


def _sweep_uploads(store: JobStore, uploads: Path) -> int:
    """Kept inputs no job needs any more (to resume or to be made again)."""
    if not uploads.is_dir():
        return 0
    needed = {str(Path(p).resolve()) for p in store.needed_inputs()}
    removed = 0
    for path in uploads.rglob("*"):
        if path.is_file() and str(path.resolve()) not in needed and time.time() - path.stat().st_mtime > UPLOAD_GRACE_S:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _sweep_caches(cache: Path, unused_since: datetime) -> int:
    """Face analyses and recognised phones not used since ``unused_since`` (each use refreshes the file's time)."""
    limit, removed = unused_since.timestamp(), 0
    for name in CACHE_FOLDERS:
        for path in (cache / name).glob("*") if (cache / name).is_dir() else []:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def main(argv: list[str] | None = None) -> int:
    """``python -m lipsync.housekeeping``: one pass with the settings' folders."""
    from .config import Settings
    from .logs import setup_logging

    settings = Settings()
    p = argparse.ArgumentParser(prog="python -m lipsync.housekeeping", description=__doc__.splitlines()[0])
    p.add_argument("--keep-days", type=int, default=settings.keep_days or 90)
    p.add_argument("--archive", type=Path, default=settings.archive_dir)
    args = p.parse_args(argv)
    setup_logging(settings.data_dir / "logs", console=logging.INFO)
    db = settings.data_dir / "jobs.sqlite3"
    swept = sweep(JobStore(db), AuditLog(db), settings.outputs_dir, settings.data_dir, args.keep_days, args.archive)
    sys.stdout.write(t(from_environment(), "housekeeping.done", archived=len(swept.archived),
                       deleted=len(swept.deleted), uploads=swept.uploads_removed, caches=swept.caches_removed) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
