"""Single tab: one audio + one template."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import gradio as gr

from ..studio import Studio
from .common import EXAMPLES, TEMPLATE_TYPES, engine_choices, engine_note, follow, ready_options


def run_single(studio: Studio, audio: str | None, template: str | None, engine: str):
    """Queue one video and follow it: status line, player, download."""
    missing = None if audio and template else "Please add an audio recording and a template video or photo."
    options, problem = ready_options(studio, engine, missing)
    if problem:
        yield f"**{problem}**", None, None
        return
    a, t = studio.keep_upload(audio), studio.keep_upload(template)
    ticket = studio.submit([a], [t], options, {str(a): Path(audio).name, str(t): Path(template).name},
                           kind="single")

    def render(tk):
        view = studio.view(tk)
        if not view.finished:
            if view.state == "queued" or not view.message:
                return view.headline(), None, None
            return f"{view.message} ({view.overall:.0%})", None, None
        if view.state == "failed":
            return view.headline(), None, None
        item = view.items[0]
        if item.status != "done":
            return f"**Failed:** {item.error}", None, None
        seconds = tk.result.items[0].seconds
        return f"**Done** in {seconds:.1f} s: {item.output.name}", str(item.output), str(item.output)

    yield from follow(ticket, render)


def build(studio: Studio) -> None:
    engine_default = studio.settings.engine
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(type="filepath", label="Audio recording", sources=["upload"])
            template = gr.File(label="Template video or photo", file_types=TEMPLATE_TYPES)
            engine = gr.Radio(engine_choices(studio.settings), value=engine_default, label="Engine")
            note = gr.Markdown(engine_note(studio.settings, engine_default))
            start = gr.Button("Generate", variant="primary")
            gr.Examples([[str(EXAMPLES / "demo_speech.wav"), str(EXAMPLES / "demo_face.png")]],
                        inputs=[audio, template], label="Demo")
        with gr.Column():
            status = gr.Markdown()
            video = gr.Video(label="Result", interactive=False)
            file = gr.File(label="Download", interactive=False)
    engine.change(partial(engine_note, studio.settings), engine, note, api_name=False)
    start.click(partial(run_single, studio), [audio, template, engine], [status, video, file],
                api_name="single", concurrency_limit=None)  # the studio's runner orders the jobs
