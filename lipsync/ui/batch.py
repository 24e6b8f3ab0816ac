"""Batch tab: one audio + many templates (uploaded or from the library)."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import gradio as gr

from ..studio import Studio
from .common import (
    EXAMPLES,
    ITEM_COLUMNS,
    TEMPLATE_TYPES,
    batch_outputs,
    empty_batch_outputs,
    engine_choices,
    engine_note,
    follow,
    ready_options,
)

IDLE_TEXT = "Add an audio and templates, then press **Start batch**."
FOLLOW_S = 1.0  # refresh of a batch the page follows after a reload


def run_batch(studio: Studio, audio: str | None, files: list[str] | None, picked: list[str] | None,
              engine: str):
    """Keep the uploads, queue the batch, and follow it: summary, items, videos, downloads."""
    uploads, picks = [Path(f) for f in (files or [])], [Path(p) for p in (picked or [])]
    missing = "Please add an audio recording first." if not audio else \
        "Please add at least one template video or photo (or pick one from the library)." \
        if not uploads and not picks else None
    options, problem = ready_options(studio, engine, missing)
    if problem:
        yield empty_batch_outputs(f"**{problem}**")
        return
    kept_audio = studio.keep_upload(audio)
    names = {str(kept_audio): Path(audio).name}
    templates = []
    for up in uploads:
        kept = studio.keep_upload(up)
        names[str(kept)], templates = up.name, [*templates, kept]
    for p in picks:
        names[str(p)], templates = studio.library_label(p), [*templates, p]
    ticket = studio.submit([kept_audio], templates, options, names)
    yield from follow(ticket, lambda t: batch_outputs(studio.view(t)))


def latest_batch_id(studio: Studio) -> str | None:
    """On page load (a reload, a second browser): the batch this page should follow, if any."""
    ticket = studio.latest_batch()
    return ticket.id if ticket else None


def show_followed(studio: Studio, ticket_id: str | None):
    """Timer tick: the followed batch as it stands; nothing changes once the page follows none (the
    page's own Start button takes over the view) or once it has finished and been shown."""
    ticket = studio.ticket(ticket_id) if ticket_id else None
    if ticket is None:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    # the tick only ever stops following (never restarts it), so it cannot undo a Start click
    return *batch_outputs(studio.view(ticket)), (None if ticket.is_finished else gr.skip())


def library_choices(studio: Studio) -> list[tuple[str, str]]:
    return [(studio.library_label(p), str(p)) for p in studio.library()]


def build(studio: Studio):
    """The tab's components and events; returns the library picker (the Templates tab refreshes it),
    what to run on page load, and the state it sets (the batch the page follows)."""
    engine_default = studio.settings.engine
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(type="filepath", label="1. Audio recording", sources=["upload"], elem_id="batch-audio")
            files = gr.File(file_count="multiple", label="2. Template videos or photos (drag and drop)",
                            file_types=TEMPLATE_TYPES, elem_id="batch-templates")
            lib = gr.Dropdown(choices=library_choices(studio), multiselect=True,
                              label="…or templates from the library", value=[])
            start = gr.Button("Start batch", variant="primary")  # above the fold on a 1366x768 screen
            with gr.Accordion("Engine (built-in unless you change it)", open=False):
                engine = gr.Radio(engine_choices(studio.settings), value=engine_default, label="Engine")
                note = gr.Markdown(engine_note(studio.settings, engine_default))
            gr.Examples([[str(EXAMPLES / "demo_speech.wav"), [str(EXAMPLES / "demo_face.png")]]],
                        inputs=[audio, files], label="Demo")
        with gr.Column():
            overall = gr.Markdown(IDLE_TEXT, elem_id="batch-summary")
            table = gr.Dataframe(headers=ITEM_COLUMNS, label="Items", interactive=False, wrap=True)
            gallery = gr.Gallery(label="Finished videos", columns=2, height="auto")
            downloads = gr.File(label="Downloads (each video, and all as ZIP)", file_count="multiple",
                                interactive=False)
    engine.change(partial(engine_note, studio.settings), engine, note, api_name=False)
    outputs = [overall, table, gallery, downloads]
    # no Gradio-level queue here: the studio's runner orders all jobs and says where each one waits
    start.click(partial(run_batch, studio), [audio, files, lib, engine], outputs, api_name="batch",
                concurrency_limit=None)
    # after a reload the page follows the running (or last) batch until its own Start button is used
    followed = gr.State(None)
    gr.Timer(FOLLOW_S).tick(partial(show_followed, studio), followed, [*outputs, followed], api_name=False)
    start.click(lambda: None, None, followed, api_name=False)
    return lib, partial(latest_batch_id, studio), followed
