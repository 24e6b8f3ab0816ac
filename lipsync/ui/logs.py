"""Logs tab: a live tail of the application log."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import gradio as gr

from ..logs import LOG_FILE
from ..studio import Studio

TAIL_BYTES = 64_000   # read only the end of a long log
TAIL_LINES = 200
REFRESH_S = 2.0


def tail_log(path: Path) -> str:
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(0, 2)
        f.seek(max(0, f.tell() - TAIL_BYTES))
        lines = f.read().decode("utf-8", "replace").splitlines()[-TAIL_LINES:]
    return "\n".join(reversed(lines))  # newest first: what just happened is what a person looks for


def build(studio: Studio) -> None:
    tail = partial(tail_log, studio.settings.data_dir / "logs" / LOG_FILE)
    box = gr.Textbox(value=tail, label="Application log (live, newest first)", lines=25, max_lines=25,
                     autoscroll=False, interactive=False)
    gr.Timer(REFRESH_S).tick(tail, None, box, api_name=False)
