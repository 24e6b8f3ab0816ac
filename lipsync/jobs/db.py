"""One SQLite file shared by the history and the audit log: a connection per thread, one transaction
per use."""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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
