"""Review panel of the History tab: the selected video's mouths at a glance, approve / reject with a
note, and the approved videos of its batch as one ZIP."""
from __future__ import annotations

from functools import partial

import gradio as gr

from ..errors import LipsyncError
from ..i18n import t
from ..studio import Studio
from ..views import review_text
from .texts import Texts


def decide(studio: Studio, decision: str, job_id: str, note: str, status: str, review: str, since: str, until: str,
           page: float | None, lang: str, request: gr.Request):
    """Record the decision (with the login name when login is on); the table shows it at once."""
    from .history import history

    filters = (status, review, since, until, page, lang)
    if not job_id:
        gr.Warning(t(lang, "history.pick_first"))
        return gr.skip(), gr.skip()
    try:
        row = studio.review(job_id, decision, note, getattr(request, "username", None))
    except LipsyncError as e:
        gr.Warning(e.text(lang))
        return gr.skip(), gr.skip()
    gr.Info(t(lang, "review.saved", state=review_text(row["review"], lang)))
    return history(studio, *filters), gr.skip()


def approved_zip(studio: Studio, job_id: str, lang: str):
    """The approved videos of the selected job's batch, as one ZIP."""
    row = studio.job(job_id) if job_id else None
    path = studio.approved_zip(row["batch"]) if row else None
    if path is None:
        gr.Warning(t(lang, "review.none_approved"))
        return gr.skip()
    return [str(path)]


def build(studio: Studio, tx: Texts, lang: gr.State, job: gr.Textbox, details: gr.Markdown, files: gr.File,
          table: gr.Dataframe, filters: list) -> tuple[gr.Image, gr.Textbox]:
    """The panel under the selected job; returns its contact sheet and note (filled when a row is picked)."""
    with gr.Row():
        sheet = tx.make(gr.Image, {"label": "review.sheet"}, interactive=False, height=200, elem_id="review-sheet")
        with gr.Column():
            note = tx.make(gr.Textbox, {"label": "review.note"}, lines=2, elem_id="review-note")
            with gr.Row():
                approve = tx.make(gr.Button, {"value": "review.approve"}, variant="primary")
                reject = tx.make(gr.Button, {"value": "review.reject"}, variant="stop")
                reset = tx.make(gr.Button, {"value": "review.reset"})
            zip_button = tx.make(gr.Button, {"value": "review.approved_zip"})
    for button, decision in ((approve, "approved"), (reject, "rejected"), (reset, "to_review")):
        button.click(partial(decide, studio, decision), [job, note, *filters], [table, details], api_name=False)
    zip_button.click(partial(approved_zip, studio), [job, lang], files, api_name=False)
    return sheet, note
