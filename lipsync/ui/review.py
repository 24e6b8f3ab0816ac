"""Review panel of the History tab: the selected video's mouths at a glance, approve / reject with a
note, and the approved videos of its batch as one ZIP."""
from __future__ import annotations

from functools import partial
from typing import Callable

import gradio as gr

from ..errors import LipsyncError
from ..i18n import t
from ..studio import Studio
from ..views import review_text
from .common import actor, engine_choices, follow
from .texts import Texts


def decide(studio: Studio, show: Callable, decision: str, job_id: str, note: str, status: str, review: str,
           since: str, until: str, page: float | None, lang: str, request: gr.Request):
    """Record the decision (with the login name when login is on); the table shows it at once."""
    filters = (status, review, since, until, page, lang)
    if not job_id:
        gr.Warning(t(lang, "history.pick_first"))
        return gr.skip(), gr.skip()
    try:
        who = actor(request)
        row = studio.review(job_id, decision, note, who.user, who.client)
    except LipsyncError as e:
        gr.Warning(e.text(lang))
        return gr.skip(), gr.skip()
    gr.Info(t(lang, "review.saved", state=review_text(row["review"], lang)))
    return show(*filters), gr.skip()


def approved_zip(studio: Studio, job_id: str, lang: str):
    """The approved videos of the selected job's batch, as one ZIP."""
    row = studio.job(job_id) if job_id else None
    path = studio.approved_zip(row["batch"]) if row else None
    if path is None:
        gr.Warning(t(lang, "review.none_approved"))
        return gr.skip()
    return [str(path)]


def remake(studio: Studio, job_id: str, engine: str, lang: str, request: gr.Request):
    """Make the selected video again (its old version stays until the new one is done), and follow it."""
    if not job_id:
        gr.Warning(t(lang, "history.pick_first"))
        yield gr.skip()
        return
    try:
        ticket = studio.rerun(job_id, engine or None, actor(request))
    except LipsyncError as e:
        gr.Warning(e.text(lang))
        yield gr.skip()
        return

    def render(tk):
        view = studio.view(tk)
        if view.state == "queued":
            return view.headline(lang)
        if not view.finished:
            return t(lang, "rerun.running", message=view.message)
        item = view.items[-1] if view.items else None
        if view.state == "failed" or item is None or item.status != "done":
            return t(lang, "rerun.failed", error=view.error or (item.error if item else "") or "")
        return t(lang, "rerun.done", file=item.output.name)

    yield from follow(ticket, render)


def build(studio: Studio, tx: Texts, lang: gr.State, job: gr.Textbox, details: gr.Markdown, files: gr.File,
          table: gr.Dataframe, filters: list, show: Callable) -> tuple[gr.Image, gr.Textbox]:
    """The panel under the selected job; returns its contact sheet and note (filled when a row is picked).
    ``show(*filters)`` is the History table."""
    with gr.Row():
        sheet = tx.make(gr.Image, {"label": "review.sheet"}, interactive=False, height=200, elem_id="review-sheet")
        with gr.Column():
            note = tx.make(gr.Textbox, {"label": "review.note"}, lines=2, elem_id="review-note")
            with gr.Row():
                approve = tx.make(gr.Button, {"value": "review.approve"}, variant="primary")
                reject = tx.make(gr.Button, {"value": "review.reject"}, variant="stop")
                reset = tx.make(gr.Button, {"value": "review.reset"})
            zip_button = tx.make(gr.Button, {"value": "review.approved_zip"})
            with gr.Row():
                engine = tx.make(gr.Dropdown, {"label": "engine.label",
                                               "choices": partial(engine_choices, studio.settings)},
                                 value=studio.settings.engine, min_width=160)
                again = tx.make(gr.Button, {"value": "rerun.button"}, elem_id="rerun")
    rerun_status = gr.Markdown(elem_id="rerun-status")
    again.click(partial(remake, studio), [job, engine, lang], rerun_status, api_name=False, concurrency_limit=None
                ).then(show, filters, table, api_name=False)
    for button, decision in ((approve, "approved"), (reject, "rejected"), (reset, "to_review")):
        button.click(partial(decide, studio, show, decision), [job, note, *filters], [table, details], api_name=False)
    zip_button.click(partial(approved_zip, studio), [job, lang], files, api_name=False)
    return sheet, note
