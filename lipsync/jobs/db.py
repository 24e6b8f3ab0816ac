"""One SQLite file shared by the history and the audit log: a connection per thread, one transaction
per use."""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def day_range(column: str, since: str | None, until: str | None) -> tuple[list[str], list[str]]:
    """WHERE conditions and their arguments for an ISO-time ``column`` from / to a day (YYYY-MM-DD, both
    days included)."""
    where, args = [], []
    if since:
        where.append(f"{column} >= ?")
        args.append(since)
    if until:
        where.append(f"{column} < ?")
        args.append(until + "T99")  # sorts after every time of that day
    return where, args


class SQLiteFile:
    """Connections to one database file (WAL mode: readers never wait for the writer)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self.conn() as c:
            c.execute("PRAGMA journal_mode=WAL")

    @contextmanager
    def conn(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, in a transaction committed on success."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        with conn:
            yield conn
