"""Logging set-up: a rotating log file on disk (the app's log panel tails the same lines)."""
from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_FILE = "lipsync.log"


def setup_logging(directory: Path, console: int | None = logging.INFO, level: int = logging.INFO) -> Path:
    """Send the ``lipsync`` loggers to ``<directory>/lipsync.log`` (rotating) and optionally stderr."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOG_FILE
    root = logging.getLogger("lipsync")
    root.setLevel(level)
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) and Path(h.baseFilename) == path.resolve()
               for h in root.handlers):
        fh = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
        fh.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(fh)
        if console is not None:
            sh = logging.StreamHandler()
            sh.setLevel(console)
            sh.setFormatter(logging.Formatter(LOG_FORMAT))
            root.addHandler(sh)
    return path
