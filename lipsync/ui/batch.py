"""Batch tab: one audio + many templates (uploaded or from the library)."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import gradio as gr

from ..errors import LipsyncError
from ..studio import Studio
from ..uploads import Upload
from .common import (
    EXAMPLES,
    TEMPLATE_TYPES,
    actor,
    batch_outputs,
    columns,
    empty_batch_outputs,
    empty_items,
    engine_choices,
    engine_note,
    follow,
    ready_options,
)
from .texts import Texts

FOLLOW_S = 1.0  # refresh of a batch the page follows after a reload
DISK_CHECK_S = 60.0  # how often an open page looks at the free disk space


def disk_warning(studio: Studio, lang: str) -> str:
    """The storage line with its warning when the disk is filling up; nothing otherwise (every open page
    asks each minute: only the free space is read until there is something to say)."""
    return studio.storage().text(lang) if studio.running_short() else ""


def run_batch(studio: Studio, audio: str | None, files: list[str] | None, picked: list[str] | None,
              engine: str, lang: str, request: gr.Request):
    """Keep the uploads, queue the batch, and follow it: summary, items, videos, downloads."""
    uploads, picks = [Path(f) for f in (files or [])], [Path(p) for p in (picked or [])]
    missing = "batch.need_audio" if not audio else "batch.need_template" if not uploads and not picks else None
    options, problem = ready_options(studio, engine, missing, lang)
    if problem:
        yield empty_batch_outputs(f"**{problem}**", lang)
        return
    try:
        ticket = studio.submit_uploads(Upload.of(audio), [*map(Upload.of, uploads), *picks], options,
                                       actor=actor(request))
    except LipsyncError as e:  # e.g. the disk is nearly full: refused before any work
        gr.Warning(e.text(lang))
        yield empty_batch_outputs(f"**{e.text(lang)}**", lang)
        return
    yield from follow(ticket, lambda t: batch_outputs(studio.view(t), lang))


def latest_batch_id(studio: Studio) -> str | None:
    """On page load (a reload, a second browser): the batch this page should follow, if any."""
    ticket = studio.latest_batch()
    return ticket.id if ticket else None


def show_followed(studio: Studio, ticket_id: str | None, lang: str):
    """Timer tick: the followed batch as it stands; nothing changes once the page follows none (the
    page's own Start button takes over the view) or once it has finished and been shown."""
    ticket = studio.ticket(ticket_id) if ticket_id else None
    if ticket is None:
        return (gr.skip(),) * 6
    # the tick only ever stops following (never restarts it), so it cannot undo a Start click
    return *batch_outputs(studio.view(ticket), lang), (None if ticket.is_finished else gr.skip())


def library_choices(studio: Studio) -> list[tuple[str, str]]:
    return [(studio.library_label(p), str(p)) for p in studio.library()]


def build(studio: Studio, tx: Texts, lang: gr.State):
    """The tab's components and events; returns the library picker (the Templates tab refreshes it),
    what to run on page load, and the state it sets (the batch the page follows)."""
    engine_default = studio.settings.engine
    disk = gr.Markdown(elem_id="disk-warning")  # empty unless the disk is filling up
    with gr.Row():
        with gr.Column():
            audio = tx.make(gr.Audio, {"label": "batch.audio"}, type="filepath", sources=["upload"],
                            elem_id="batch-audio")
            files = tx.make(gr.File, {"label": "batch.templates"}, file_count="multiple", height=190,
                            file_types=TEMPLATE_TYPES, elem_id="batch-templates")
            lib = tx.make(gr.Dropdown, {"label": "batch.library"}, choices=library_choices(studio),
                          multiselect=True, value=[])
            # above the fold on a 1366x768 screen
            start = tx.make(gr.Button, {"value": "batch.start"}, variant="primary", elem_id="batch-start")
            with tx.make(gr.Accordion, {"label": "batch.engine_box"}, open=False):
                engine = tx.make(gr.Radio, {"label": "engine.label",
                                            "choices": partial(engine_choices, studio.settings)},
                                 value=engine_default)
                note = tx.make(gr.Markdown, {"value": partial(engine_note, studio.settings, engine_default)})
            demo = gr.Examples([[str(EXAMPLES / "demo_speech.wav"), [str(EXAMPLES / "demo_face.png")]]],
                               inputs=[audio, files], label=tx("page.demo"))
            tx.keep(demo.dataset, {"label": "page.demo",
                                   "headers": partial(columns, ["batch.audio", "batch.templates"])})
        with gr.Column():
            overall = tx.make(gr.Markdown, {"value": "batch.idle"}, elem_id="batch-summary")
            table = tx.make(gr.Dataframe, {"label": "batch.items", "value": empty_items}, interactive=False,
                            wrap=True, elem_id="batch-items")
            gallery = tx.make(gr.Gallery, {"label": "batch.finished_videos"}, columns=2, height="auto",
                              elem_id="batch-gallery")
            downloads = tx.make(gr.File, {"label": "batch.downloads"}, file_count="multiple", interactive=False)
    engine.change(partial(engine_note, studio.settings), [engine, lang], note, api_name=False)
    items = gr.JSON(visible=False)  # for gradio_client: every item with its check and review
    outputs = [overall, table, gallery, downloads, items]
    # no Gradio-level queue here: the studio's runner orders all jobs and says where each one waits
    start.click(partial(run_batch, studio), [audio, files, lib, engine, lang], outputs, api_name="batch",
                concurrency_limit=None)
    # after a reload the page follows the running (or last) batch until its own Start button is used
    followed = gr.State(None)
    gr.Timer(FOLLOW_S).tick(partial(show_followed, studio), [followed, lang], [*outputs, followed],
                            api_name=False)
    start.click(lambda: None, None, followed, api_name=False)
    gr.Timer(DISK_CHECK_S).tick(partial(disk_warning, studio), lang, disk, api_name=False)
    return lib, partial(latest_batch_id, studio), followed, (partial(disk_warning, studio), disk)
