"""History tab: every job, filters, play / download / delete, resume an interrupted batch."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import gradio as gr
import pandas as pd

from ..studio import Studio
from .common import GPU, follow

PAGE = 25  # rows per history page


def history(studio: Studio, status: str, since: str, until: str, page: float | None) -> pd.DataFrame:
    page_n = max(1, int(page or 1))
    return studio.history(status=status, since=since, until=until, limit=PAGE, offset=(page_n - 1) * PAGE)


def pick_job(df: pd.DataFrame, evt: gr.SelectData):
    """The clicked row's job id, and its video when the file is there."""
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    job = df.iloc[row]
    out = job["output"] if isinstance(job["output"], str) and Path(job["output"]).is_file() else None
    return job["id"], out, out


def delete_job(studio: Studio, job_id: str, status: str, since: str, until: str, page: float | None):
    if job_id:
        studio.delete(job_id)
    return "", None, None, history(studio, status, since, until, page)


def resume(studio: Studio, batch: str | None):
    """Queue the unfinished items of the batch and follow them."""
    if not batch:
        raise gr.Error("Choose an interrupted batch first.")
    ticket = studio.resume(batch)

    def render(t):
        view = studio.view(t)
        if view.state == "queued":
            return view.headline()
        if not view.finished:
            return f"Resuming {batch}: item {view.item} / {view.n_items}: {view.message}"
        if view.state == "failed":
            return f"**Could not resume:** {view.error}"
        tail = f", {len(view.failed)} failed" if view.failed else ""
        return f"**Resumed {batch}: {len(view.done)} / {view.n_items} done**{tail}"

    yield from follow(ticket, render)


def resumable_choices(studio: Studio):
    return gr.update(choices=studio.resumable_batches(), value=None)


def build(studio: Studio) -> tuple[gr.Dataframe, list]:
    """The tab; returns the table and its filter inputs (the Batch tab refreshes it on start)."""
    show = partial(history, studio)
    with gr.Row():
        status = gr.Dropdown(["all", "done", "failed", "running", "queued", "interrupted"], value="all",
                             label="Status")
        since = gr.Textbox(label="From (YYYY-MM-DD)")
        until = gr.Textbox(label="To (YYYY-MM-DD)")
        page = gr.Number(value=1, precision=0, minimum=1, label="Page")
        refresh = gr.Button("Refresh")
    table = gr.Dataframe(value=show("all", "", "", 1), interactive=False, wrap=True,
                         label="Jobs (newest first); click a row to play it", elem_id="history-table")
    with gr.Row():
        job = gr.Textbox(label="Selected job", interactive=False)
        delete = gr.Button("Delete selected output", variant="stop")
    with gr.Row():
        video = gr.Video(label="Output", interactive=False)
        file = gr.File(label="Download", interactive=False)
    with gr.Row():
        batches = gr.Dropdown(choices=studio.resumable_batches(), label="Interrupted batches",
                              elem_id="resumable", allow_custom_value=True)
        resume_btn = gr.Button("Resume batch (skips finished videos)")
    resume_status = gr.Markdown()
    inputs = [status, since, until, page]
    resume_btn.click(partial(resume, studio), batches, resume_status, api_name="resume", concurrency_limit=1,
                     concurrency_id=GPU).then(partial(resumable_choices, studio), None, batches,
                                              api_name=False).then(show, inputs, table, api_name=False)
    refresh.click(show, inputs, table, api_name="history").then(
        partial(resumable_choices, studio), None, batches, api_name=False)
    for comp in (status, page):
        comp.change(show, inputs, table, api_name=False)
    table.select(pick_job, table, [job, video, file], api_name=False)
    delete.click(partial(delete_job, studio), [job, *inputs], [job, video, file, table], api_name=False)
    return table, inputs
