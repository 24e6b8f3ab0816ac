"""Templates tab: check a new template (queued with the jobs), keep it in the library."""
from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import gradio as gr
import pandas as pd

from ..errors import LipsyncError
from ..studio import Studio
from ..views import waiting_text
from .batch import library_choices
from .common import TEMPLATE_TYPES, follow

log = logging.getLogger("lipsync.ui")


def check_template(studio: Studio, template: str | None):
    """Queue the check and follow it: where it waits, then the report (never a traceback)."""
    if not template:
        raise gr.Error("Please upload a template video or photo to check.")
    name = Path(template).name
    ticket = studio.check_template(template, name)

    def render(t):
        if not t.is_finished:
            pos = studio.runner.position(t)
            return (waiting_text(pos) if pos else f"Checking {name}…"), {}
        if t.state == "done":
            return t.result.to_markdown(), t.result.to_dict()
        return f"### NOT USABLE: {t.error}", {}

    yield from follow(ticket, render)


def library_table(studio: Studio) -> pd.DataFrame:
    return pd.DataFrame([[studio.library_label(p), f"{p.stat().st_size / 1e6:.1f} MB"] for p in studio.library()],
                        columns=["template", "size"])


def add_to_library(studio: Studio, template: str | None):
    if not template:
        raise gr.Error("Upload a template first.")
    try:
        kept = studio.add_to_library(template, Path(template).name)
    except (LipsyncError, OSError) as e:
        raise gr.Error(f"Could not add '{Path(template).name}': {e}") from e
    gr.Info(f"Added {studio.library_label(kept)} to the library.")
    return gr.update(choices=library_choices(studio)), gr.update(value=library_table(studio))


def build(studio: Studio, batch_library: gr.Dropdown) -> None:
    gr.Markdown("Quick evaluation of a new template video: upload it and get a report in seconds.")
    with gr.Row():
        with gr.Column():
            file = gr.File(label="Template video or photo", file_types=TEMPLATE_TYPES, elem_id="template-file")
            check = gr.Button("Check template", variant="primary")
            add = gr.Button("Add to library")
            table = gr.Dataframe(value=library_table(studio), label="Library", interactive=False)
        with gr.Column():
            report = gr.Markdown()
            details = gr.JSON(label="Details", visible=False)
    # the check itself waits its turn on the studio's runner; the event needs no queue slot of its own
    check.click(partial(check_template, studio), file, [report, details], api_name="check_template")
    add.click(partial(add_to_library, studio), file, [batch_library, table], api_name=False)
