"""Batch tab: one audio + many templates (uploaded or from the library)."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import gradio as gr

from ..studio import Studio
from .common import EXAMPLES, GPU, ITEM_COLUMNS, TEMPLATE_TYPES, engine_choices, engine_note, follow, item_rows


def run_batch(studio: Studio, audio: str | None, files: list[str] | None, picked: list[str] | None,
              engine: str):
    """Keep the uploads, queue the batch, and follow it: headline, items, videos, downloads."""
    if not audio:
        raise gr.Error("Please add an audio recording first.")
    uploads, picks = [Path(f) for f in (files or [])], [Path(p) for p in (picked or [])]
    if not uploads and not picks:
        raise gr.Error("Please add at least one template video or photo (or pick one from the library).")
    kept_audio = studio.keep_upload(audio)
    names = {str(kept_audio): Path(audio).name}
    templates = []
    for up in uploads:
        kept = studio.keep_upload(up)
        names[str(kept)], templates = up.name, [*templates, kept]
    for p in picks:
        names[str(p)], templates = studio.library_label(p), [*templates, p]
    ticket = studio.submit([kept_audio], templates, studio.options(engine), names)

    def render(t):
        view = studio.view(t)
        videos = [str(i.output) for i in view.done]
        downloads = videos + ([str(view.zip_path)] if view.zip_path else [])
        return view.headline(), item_rows(view), videos, downloads

    yield from follow(ticket, render)


def library_choices(studio: Studio) -> list[tuple[str, str]]:
    return [(studio.library_label(p), str(p)) for p in studio.library()]


def build(studio: Studio) -> gr.Dropdown:
    """The tab's components and events; returns the library picker (the Templates tab refreshes it)."""
    engine_default = studio.settings.engine
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(type="filepath", label="1. Audio recording", sources=["upload"], elem_id="batch-audio")
            files = gr.File(file_count="multiple", label="2. Template videos or photos (drag and drop)",
                            file_types=TEMPLATE_TYPES, elem_id="batch-templates")
            lib = gr.Dropdown(choices=library_choices(studio), multiselect=True,
                              label="…or templates from the library", value=[])
            engine = gr.Radio(engine_choices(), value=engine_default, label="3. Engine")
            note = gr.Markdown(engine_note(engine_default))
            start = gr.Button("Start batch", variant="primary")
            gr.Examples([[str(EXAMPLES / "demo_speech.wav"), [str(EXAMPLES / "demo_face.png")]]],
                        inputs=[audio, files], label="Demo")
        with gr.Column():
            overall = gr.Markdown("Add an audio and templates, then press **Start batch**.")
            table = gr.Dataframe(headers=ITEM_COLUMNS, label="Items", interactive=False, wrap=True)
            gallery = gr.Gallery(label="Finished videos", columns=2, height="auto")
            downloads = gr.File(label="Downloads (each video, and all as ZIP)", file_count="multiple",
                                interactive=False)
    engine.change(engine_note, engine, note, api_name=False)
    start.click(partial(run_batch, studio), [audio, files, lib, engine], [overall, table, gallery, downloads],
                api_name="batch", concurrency_limit=1, concurrency_id=GPU)
    return lib
