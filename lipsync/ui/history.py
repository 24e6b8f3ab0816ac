"""History tab: every job, filters, play / download / delete, resume an interrupted batch."""
from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

import gradio as gr
import pandas as pd

from ..studio import Studio
from .common import follow

PAGE = 25  # rows per history page
FOLLOW_S = 5.0  # how often an open History tab picks up new jobs
DAY_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d.%m.%Y")


def parse_day(text: str) -> str:
    """'2026-11-24', '2026/11/24', '24/11/2026' or '24.11.2026' -> '2026-11-24'; '' stays ''."""
    text = (text or "").strip()
    if not text:
        return ""
    for fmt in DAY_FORMATS:
        try:
            return datetime.strptime(text, fmt).strftime("%Y-%m-%d")
        except ValueError:
            continue
    raise ValueError(text)


def history(studio: Studio, status: str, since: str, until: str, page: float | None) -> pd.DataFrame:
    """One page of the history; a date it cannot read is said so (and that filter is left out)."""
    days = []
    for label, text in (("From", since), ("To", until)):
        try:
            days.append(parse_day(text))
        except ValueError:
            gr.Warning(f"{label}: '{text}' is not a date. Write it as 2026-11-24 (year-month-day).")
            days.append("")
    page_n = max(1, int(page or 1))
    return studio.history(status=status, since=days[0], until=days[1], limit=PAGE, offset=(page_n - 1) * PAGE)


def pick_job(studio: Studio, df: pd.DataFrame, evt: gr.SelectData):
    """The clicked job: its id, details in words (the whole error), its video, and the batch ZIP."""
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    job = df.iloc[row]
    out = job["output"] if isinstance(job["output"], str) and Path(job["output"]).is_file() else None
    details = f"**{job['template']}** + {job['audio']}: {job['status']}"
    if isinstance(job["error"], str) and job["error"]:
        details += f"  \n{job['error']}"
    zip_path = studio.resolve_zip(job["batch"])
    files = [f for f in (out, str(zip_path) if zip_path else None) if f]
    return job["id"], details, out, files or None, gr.update(visible=False)


def ask_delete(job_id: str, details: str):
    """First click: ask (nothing is deleted yet)."""
    if not job_id:
        gr.Warning("Click a job in the table first.")
        return gr.update(visible=False), ""
    return gr.update(visible=True), f"Delete the video of {details.splitlines()[0]}? This cannot be undone."


def delete_job(studio: Studio, job_id: str, status: str, since: str, until: str, page: float | None):
    """Second click: delete the video and its history row (the batch ZIP is rebuilt without it)."""
    if job_id:
        studio.delete(job_id)
        gr.Info("Deleted.")
    return "", "", None, None, gr.update(visible=False), history(studio, status, since, until, page)


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
    """The tab; returns the table and its filter inputs (the page refreshes it when opened)."""
    show = partial(history, studio)
    with gr.Row():
        status = gr.Dropdown(["all", "done", "failed", "running", "queued", "interrupted"], value="all",
                             label="Status")
        since = gr.Textbox(label="From (YYYY-MM-DD)", placeholder="2026-11-24")
        until = gr.Textbox(label="To (YYYY-MM-DD)", placeholder="2026-11-24")
        page = gr.Number(value=1, precision=0, minimum=1, label="Page")
        refresh = gr.Button("Refresh")
    table = gr.Dataframe(value=show("all", "", "", 1), interactive=False, wrap=True,
                         label="Jobs (newest first); click a row to play it", elem_id="history-table")
    with gr.Row():
        job = gr.Textbox(label="Selected job", interactive=False, elem_id="history-job")
        delete = gr.Button("Delete selected output", variant="stop")
    details = gr.Markdown(elem_id="history-details")
    with gr.Row(visible=False) as confirm_row:
        question = gr.Markdown()
        confirm = gr.Button("Yes, delete", variant="stop")
        cancel = gr.Button("Cancel")
    with gr.Row():
        video = gr.Video(label="Output", interactive=False)
        files = gr.File(label="Download (the video, and the whole batch as ZIP)", file_count="multiple",
                        interactive=False)
    with gr.Row():
        batches = gr.Dropdown(choices=studio.resumable_batches(), label="Interrupted batches",
                              elem_id="resumable", allow_custom_value=True)
        resume_btn = gr.Button("Resume batch (skips finished videos)")
    resume_status = gr.Markdown()
    inputs = [status, since, until, page]
    resume_btn.click(partial(resume, studio), batches, resume_status, api_name="resume",
                     concurrency_limit=None).then(partial(resumable_choices, studio), None, batches,
                                                  api_name=False).then(show, inputs, table, api_name=False)
    refresh.click(show, inputs, table, api_name="history").then(
        partial(resumable_choices, studio), None, batches, api_name=False)
    for comp in (status, page):
        comp.change(show, inputs, table, api_name=False)
    for comp in (since, until):
        comp.submit(show, inputs, table, api_name=False)
    gr.Timer(FOLLOW_S).tick(show, inputs, table, api_name=False)  # new jobs appear while the tab is open
    def on_select(df: pd.DataFrame, evt: gr.SelectData):  # Gradio finds SelectData by this annotation
        return pick_job(studio, df, evt)

    table.select(on_select, table, [job, details, video, files, confirm_row], api_name=False)
    delete.click(ask_delete, [job, details], [confirm_row, question], api_name=False)
    cancel.click(lambda: gr.update(visible=False), None, confirm_row, api_name=False)
    confirm.click(partial(delete_job, studio), [job, *inputs], [job, details, video, files, confirm_row, table],
                  api_name=False)
    return table, inputs
