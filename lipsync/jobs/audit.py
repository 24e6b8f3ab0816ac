"""The audit log: an append-only record of who did what to which file, in the history database.

Rows are only ever inserted (no update or delete here): deleting a video deletes the file, never its
audit rows. Each row has the time, the event, the user (when login is on), the client address, the batch
and job, the file names and the SHA-256 of the files involved.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from .db import SQLiteFile, day_range

log = logging.getLogger("lipsync.audit")

#: the events recorded (a stable vocabulary for whoever reads the export)
EVENTS = ("submit", "finish", "failure", "download", "review", "delete", "archive", "retention_delete",
          "login_failure", "rerun")
COLUMNS = ["time", "event", "user", "client", "batch", "job_id", "files", "hashes", "detail"]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    event TEXT NOT NULL,
    user TEXT,
    client TEXT,
    batch TEXT,
    job_id TEXT,
    files TEXT,
    hashes TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time);
"""


@dataclass(frozen=True)
class Actor:
    """Who asked: the login name (None without login) and the client's address (None from the CLI)."""

    user: str | None = None
    client: str | None = None


class AuditLog:
    """Append-only audit rows in ``jobs.sqlite3`` (thread-safe: one connection per thread)."""

    def __init__(self, path: Path):
        self._db = SQLiteFile(path)
        with self._conn() as c:
            c.executescript(_SCHEMA)

    def _conn(self):
        return self._db.conn()

    def record(self, event: str, actor: Actor | None = None, batch: str | None = None, job_id: str | None = None,
               files: list[str] | None = None, hashes: list[str] | None = None, detail: str | None = None) -> None:
        """Append one row; a failure to write is logged, never raised (the work itself must go on)."""
        actor = actor or Actor()
        row = (datetime.now().isoformat(timespec="seconds"), event, actor.user, actor.client, batch, job_id,
               json.dumps(files or [], ensure_ascii=False), json.dumps(hashes or []), detail)
        try:
            with self._conn() as c:
                c.execute(f"INSERT INTO audit ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        except sqlite3.Error:
            log.exception("could not write the audit row for %s", event)

    def rows(self, since: str | None = None, until: str | None = None) -> pd.DataFrame:
        """Rows in order, optionally from / to a day (YYYY-MM-DD, both included)."""
        where, args = day_range("time", since, until)
        sql = f"SELECT {', '.join(COLUMNS)} FROM audit" + (" WHERE " + " AND ".join(where) if where else "")
        with self._conn() as c:
            return pd.read_sql_query(sql + " ORDER BY seq", c, params=args)

    def export_csv(self, target: Path, since: str | None = None, until: str | None = None) -> Path:
        """The rows as a CSV file (UTF-8 with BOM, so spreadsheet programs read the Chinese names)."""
        self.rows(since, until).to_csv(target, index=False, encoding="utf-8-sig")
        return target
