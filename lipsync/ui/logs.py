"""Logs tab: a live tail of the application log."""
from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import gradio as gr

from ..i18n import t
from ..logs import LOG_FILE
from ..studio import Studio
from .texts import Texts

TAIL_BYTES = 64_000   # read only the end of a long log
TAIL_LINES = 200
REFRESH_S = 2.0


# "2026-11-24 14:45:01,594 INFO    lipsync.batch: message" -> "14:45:01  message" (warnings marked)
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d (\d\d:\d\d:\d\d),\d+ (\w+)\s+[\w.]+: (.*)$")
SHOWN_LEVELS = {"WARNING": "logs.problem", "ERROR": "logs.error", "CRITICAL": "logs.error"}


def plain(line: str, lang: str) -> str:
    """A log line as a person reads it: the time and the message (the full line stays in the file).
    The log itself is in English (for whoever maintains the server); the problem marks are translated."""
    m = LOG_LINE.match(line)
    if not m:
        return line  # e.g. a traceback line under an error
    time, level, message = m.groups()
    mark = t(lang, SHOWN_LEVELS[level]) if level in SHOWN_LEVELS else ""
    return f"{time}  {mark}{message}"


def tail_log(path: Path, lang: str) -> str:
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(0, 2)
        f.seek(max(0, f.tell() - TAIL_BYTES))
        lines = f.read().decode("utf-8", "replace").splitlines()[-TAIL_LINES:]
    records: list[list[str]] = []
    for line in lines:  # a record is its first line plus any traceback lines under it
        if LOG_LINE.match(line) or not records:
            records.append([plain(line, lang)])
        else:
            records[-1].append(line)
    # newest record first (what just happened matters most); each record reads top to bottom
    return "\n".join(line for record in reversed(records) for line in record)


def build(studio: Studio, tx: Texts, lang: gr.State) -> None:
    tail = partial(tail_log, studio.settings.data_dir / "logs" / LOG_FILE)
    box = tx.make(gr.Textbox, {"label": "logs.title", "value": tail}, lines=25, max_lines=25, autoscroll=False,
                  interactive=False)
    gr.Timer(REFRESH_S).tick(tail, lang, box, api_name=False)
