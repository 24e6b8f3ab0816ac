"""Single tab: one audio + one template."""
from __future__ import annotations

from functools import partial

import gradio as gr

from ..errors import LipsyncError
from ..i18n import t
from ..studio import Studio
from ..uploads import Upload
from .common import EXAMPLES, TEMPLATE_TYPES, actor, columns, engine_choices, engine_note, follow, ready_options
from .texts import Texts


def run_single(studio: Studio, audio: str | None, template: str | None, engine: str, lang: str,
               request: gr.Request):
    """Queue one video and follow it: status line, player, download."""
    missing = None if audio and template else "single.need_inputs"
    options, problem = ready_options(studio, engine, missing, lang)
    if problem:
        yield f"**{problem}**", None, None
        return
    try:
        ticket = studio.submit_uploads(Upload.of(audio), [Upload.of(template)], options, kind="single",
                                       actor=actor(request))
    except LipsyncError as e:  # e.g. the disk is nearly full: refused before any work
        yield f"**{e.text(lang)}**", None, None
        return

    def render(tk):
        view = studio.view(tk)
        if not view.finished:
            if view.state == "queued" or not str(view.message):
                return view.headline(lang), None, None
            return f"{view.message.text(lang)} ({view.overall:.0%})", None, None
        if view.state == "failed":
            return view.headline(lang), None, None
        item = view.items[0]
        if item.status != "done":
            return t(lang, "single.failed", error=item.error or ""), None, None
        seconds = tk.result.items[0].seconds
        return t(lang, "single.done", seconds=seconds, file=item.output.name), str(item.output), str(item.output)

    yield from follow(ticket, render)


def build(studio: Studio, tx: Texts, lang: gr.State) -> None:
    engine_default = studio.settings.engine
    with gr.Row():
        with gr.Column():
            audio = tx.make(gr.Audio, {"label": "single.audio"}, type="filepath", sources=["upload"])
            template = tx.make(gr.File, {"label": "single.template"}, file_types=TEMPLATE_TYPES)
            engine = tx.make(gr.Radio, {"label": "engine.label", "choices": partial(engine_choices, studio.settings)},
                             value=engine_default)
            note = tx.make(gr.Markdown, {"value": partial(engine_note, studio.settings, engine_default)})
            start = tx.make(gr.Button, {"value": "single.start"}, variant="primary")
            demo = gr.Examples([[str(EXAMPLES / "demo_speech.wav"), str(EXAMPLES / "demo_face.png")]],
                               inputs=[audio, template], label=tx("page.demo"))
            tx.keep(demo.dataset, {"label": "page.demo",
                                   "headers": partial(columns, ["single.audio", "single.template"])})
        with gr.Column():
            status = gr.Markdown()
            video = tx.make(gr.Video, {"label": "single.result"}, interactive=False)
            file = tx.make(gr.File, {"label": "single.download"}, interactive=False)
    engine.change(partial(engine_note, studio.settings), [engine, lang], note, api_name=False)
    start.click(partial(run_single, studio), [audio, template, engine, lang], [status, video, file],
                api_name="single", concurrency_limit=None)  # the studio's runner orders the jobs
