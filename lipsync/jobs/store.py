"""Job history in SQLite (WAL mode: the history view reads while the worker writes)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Iterable

import pandas as pd

from ..i18n import Msg, plain
from .db import SQLiteFile, day_range

#: error_code: the error as a catalogue message (JSON), so each reader sees it in their own language;
#: qc: the automatic check of the video (JSON); review: to_review / approved / rejected, with its note,
#: who decided (when login is on) and when
COLUMNS = ["id", "created", "batch", "audio", "template", "engine", "status", "seconds", "output", "error",
           "error_code", "qc", "review", "review_note", "reviewer", "reviewed", "archived"]
REVIEW_STATES = ("to_review", "approved", "rejected")


def review_counts(items: Iterable[tuple[str, str | None]]) -> dict[str, int]:
    """How many finished videos are in each review state, from (status, review) pairs."""
    out = dict.fromkeys(REVIEW_STATES, 0)
    for status, review in items:
        if status == "done":
            out[review or "to_review"] += 1
    return out
#: where the job's inputs were kept (so it can be run again); not shown in the history table
INPUT_COLUMNS = ["audio_path", "template_path", "started", "finished", "options"]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    batch TEXT NOT NULL,
    audio TEXT NOT NULL,
    template TEXT NOT NULL,
    engine TEXT NOT NULL,
    status TEXT NOT NULL,
    seconds REAL,
    output TEXT,
    error TEXT,
    error_code TEXT,
    qc TEXT,
    review TEXT,
    review_note TEXT,
    reviewer TEXT,
    reviewed TEXT,
    archived TEXT,
    audio_path TEXT,
    template_path TEXT,
    started REAL,
    finished REAL,
    options TEXT
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created);
"""


class JobStore:
    """Every job item with its status: queued -> running -> done / failed / interrupted."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db = SQLiteFile(self.path)
        with self._conn() as c:
            c.executescript(_SCHEMA)
            have = {r[1] for r in c.execute("PRAGMA table_info(jobs)")}
            for column in ("options", "error_code", "qc", "review", "review_note", "reviewer", "reviewed", "archived"):
                # a history from before these were stored
                if column not in have:
                    c.execute(f"ALTER TABLE jobs ADD COLUMN {column} TEXT")

    def _conn(self):
        return self._db.conn()

    def add(self, batch: str, audio: str, template: str, engine: str, audio_path: str = "",
            template_path: str = "", output: str | None = None, options: str | None = None) -> str:
        """Record a queued item (with where its inputs are kept, its planned output and its options as
        JSON, so a resume runs it the same way); returns its id."""
        job_id = uuid.uuid4().hex[:12]
        with self._conn() as c:
            c.execute("INSERT INTO jobs (id, created, batch, audio, template, engine, status, output, audio_path, "
                      "template_path, options) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
                      (job_id, datetime.now().isoformat(timespec="seconds"), batch, audio, template, engine,
                       output, audio_path, template_path, options))
        return job_id

    def batch_rows(self, batch: str) -> list[dict]:
        """All items of a batch in the order they were queued, with their input paths."""
        cols = COLUMNS + INPUT_COLUMNS
        with self._conn() as c:
            rows = c.execute(f"SELECT {', '.join(cols)} FROM jobs WHERE batch = ? ORDER BY rowid", (batch,)).fetchall()
        return [dict(zip(cols, r)) for r in rows]

    def resumable_batches(self) -> list[str]:
        """Batches with items that did not finish (interrupted or queued), newest first."""
        with self._conn() as c:
            rows = c.execute("SELECT batch, MAX(rowid) FROM jobs WHERE status IN ('interrupted', 'queued') "
                             "GROUP BY batch ORDER BY 2 DESC").fetchall()
        return [r[0] for r in rows]

    def update(self, job_id: str, **fields) -> None:
        """Set some columns of one job (status, seconds, output, error: a message is stored as its English
        text and as its code and parameters)."""
        if isinstance(fields.get("error"), Msg):
            fields["error_code"] = json.dumps(fields["error"].to_json(), ensure_ascii=False)
            fields["error"] = str(fields["error"])
        elif "error" in fields:
            fields["error_code"] = None
        bad = set(fields) - set(COLUMNS) - set(INPUT_COLUMNS)
        if bad:
            raise ValueError(f"unknown job columns: {bad}")
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._conn() as c:
            c.execute(f"UPDATE jobs SET {cols} WHERE id = ?", (*fields.values(), job_id))

    def get(self, job_id: str) -> dict | None:
        with self._conn() as c:
            row = c.execute(f"SELECT {', '.join(COLUMNS)} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return dict(zip(COLUMNS, row)) if row else None

    def by_output(self, output: Path) -> dict | None:
        """The job that produced ``output`` (only produced files may be downloaded)."""
        with self._conn() as c:
            row = c.execute(f"SELECT {', '.join(COLUMNS)} FROM jobs WHERE output = ? AND status = 'done'",
                            (str(output),)).fetchone()
        return dict(zip(COLUMNS, row)) if row else None

    def history(self, status: str | None = None, since: str | None = None, until: str | None = None,
                limit: int = 50, offset: int = 0, review: str | None = None) -> pd.DataFrame:
        """Jobs newest first, optionally filtered by status, review state and date (YYYY-MM-DD), one page."""
        where, args = day_range("created", since, until)
        if status and status != "all":
            where.append("status = ?")
            args.append(status)
        if review and review != "all":
            where.append("review = ?")
            args.append(review)
        cols = [("CASE WHEN status = 'done' THEN output END AS output" if c == "output" else c) for c in COLUMNS]
        sql = f"SELECT {', '.join(cols)} FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created DESC, rowid DESC LIMIT ? OFFSET ?"
        with self._conn() as c:
            return pd.read_sql_query(sql, c, params=[*args, limit, offset])

    def batches(self) -> list[dict]:
        """Every batch with its newest job time, whether anything in it is still to run, and its archive
        state."""
        with self._conn() as c:
            rows = c.execute("SELECT batch, MAX(created), SUM(status IN ('queued', 'running')), MAX(archived) "
                             "FROM jobs GROUP BY batch").fetchall()
        return [{"batch": b, "newest": n, "busy": bool(busy), "archived": a} for b, n, busy, a in rows]

    def mark_archived(self, batch: str, state: str, folder: Path | None) -> None:
        """A batch moved to ``folder`` (state 'archived') or deleted by retention ('deleted')."""
        with self._conn() as c:
            c.execute("UPDATE jobs SET archived = ? WHERE batch = ?", (state, batch))
            if folder is None:
                return
            for job_id, output in c.execute("SELECT id, output FROM jobs WHERE batch = ? AND output IS NOT NULL",
                                            (batch,)).fetchall():
                # the videos are still there, in the archive
                c.execute("UPDATE jobs SET output = ? WHERE id = ?", (str(Path(folder) / Path(output).name), job_id))

    def needed_inputs(self) -> set[str]:
        """Kept input files of rows that may still run or be made again (not archived, or unfinished)."""
        sql = ("SELECT audio_path, template_path FROM jobs "
               "WHERE archived IS NULL OR status IN ('queued', 'running', 'interrupted')")
        with self._conn() as c:
            return {p for row in c.execute(sql) for p in row if p}

    def delete(self, job_id: str) -> None:
        with self._conn() as c:
            c.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def mark_unfinished_interrupted(self) -> int:
        """At start-up: whatever was queued or running when the process died is interrupted."""
        with self._conn() as c:
            return c.execute("UPDATE jobs SET status = 'interrupted' WHERE status IN ('queued', 'running')").rowcount


def error_msg(row: dict) -> Msg | None:
    """A history row's error as a message (rows from before messages were stored: their text as it is)."""
    if row.get("error_code"):
        return Msg.from_json(json.loads(row["error_code"]))
    return plain(row["error"]) if row.get("error") else None
