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
    """Check the template (queued with the jobs) and keep it only if usable; say the verdict either way."""
    if not template:
        gr.Warning("Upload a template first.")
        yield "**Upload a template first.**", gr.update(), gr.update(), gr.update()
        return
    name = Path(template).name
    ticket = studio.add_to_library_queued(template, name)

    def render(t):
        if not t.is_finished:
            pos = studio.runner.position(t)
            return (waiting_text(pos) if pos else f"Checking {name}…"), gr.update(), gr.update(), gr.update()
        if t.state != "done":
            return f"### NOT ADDED\n{t.error}", gr.update(), gr.update(), gr.update()
        kept, report = t.result
        text = f"**Added to the library as {studio.library_label(kept)}.**\n\n{report.to_markdown()}"
        return text, *library_updates(studio)

    yield from follow(ticket, render)


def library_updates(studio: Studio) -> tuple:
    """New choices for the Batch tab's picker, the library table and the entry picker here."""
    choices = library_choices(studio)
    return gr.update(choices=choices), gr.update(value=library_table(studio)), gr.update(choices=choices, value=None)


def rename_entry(studio: Studio, entry: str | None, new_name: str):
    if not entry or not (new_name or "").strip():
        gr.Warning("Choose a library template and type its new name.")
        return gr.update(), gr.update(), gr.update()
    try:
        studio.rename_in_library(Path(entry), new_name.strip())
    except (LipsyncError, OSError) as e:
        gr.Warning(str(e))
    return library_updates(studio)


def remove_entry(studio: Studio, entry: str | None):
    if not entry:
        gr.Warning("Choose a library template first.")
        return gr.update(), gr.update(), gr.update()
    try:
        studio.remove_from_library(Path(entry))
    except (LipsyncError, OSError) as e:
        gr.Warning(str(e))
    return library_updates(studio)


def build(studio: Studio, batch_library: gr.Dropdown) -> None:
    gr.Markdown("Quick evaluation of a new template video: upload it and get a report in seconds.")
    with gr.Row():
        with gr.Column():
            file = gr.File(label="Template video or photo", file_types=TEMPLATE_TYPES, elem_id="template-file")
            check = gr.Button("Check template", variant="primary")
            add = gr.Button("Add to library")
            table = gr.Dataframe(value=library_table(studio), label="Library", interactive=False,
                                 elem_id="library-table")
            entry = gr.Dropdown(choices=library_choices(studio), label="Library template", value=None)
            new_name = gr.Textbox(label="New name")
            with gr.Row():
                rename = gr.Button("Rename")
                remove = gr.Button("Remove from library", variant="stop")
        with gr.Column():
            report = gr.Markdown(elem_id="template-report")
            details = gr.JSON(label="Details", visible=False)
    # the check itself waits its turn on the studio's runner; the event needs no queue slot of its own
    check.click(partial(check_template, studio), file, [report, details], api_name="check_template")
    library_outputs = [batch_library, table, entry]
    add.click(partial(add_to_library, studio), file, [report, *library_outputs], api_name=False)
    rename.click(partial(rename_entry, studio), [entry, new_name], library_outputs, api_name=False)
    remove.click(partial(remove_entry, studio), entry, library_outputs, api_name=False)
