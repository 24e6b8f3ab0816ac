"""History tab: every job, filters, play / download / delete, resume an interrupted batch."""
from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

import gradio as gr
import pandas as pd

from ..errors import LipsyncError
from ..i18n import msg, t
from ..jobs.store import error_msg
from ..review import qc_of
from ..studio import Studio
from ..views import review_text, status_text
from . import review as review_panel
from .common import actor, columns, follow
from .texts import Texts

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


#: the history table's columns as shown (same order as the store's), with their header keys
HISTORY_COLUMNS = {"id": "col.id", "created": "col.created", "batch": "col.batch", "audio": "col.audio",
                   "template": "col.template", "engine": "col.engine", "status": "col.status",
                   "review": "col.review", "qc": "col.qc", "seconds": "col.seconds", "output": "col.output",
                   "error": "col.error"}
STATUS_FILTER = ["all", "done", "failed", "running", "queued", "interrupted"]
REVIEW_FILTER = ["all", "to_review", "approved", "rejected"]


def history(studio: Studio, status: str, review: str, since: str, until: str, page: float | None,
            lang: str) -> pd.DataFrame:
    """One page of the history in words; a date it cannot read is said so (and that filter is left out)."""
    days = []
    for label, text in (("history.from", since), ("history.to", until)):
        try:
            days.append(parse_day(text))
        except ValueError:
            gr.Warning(t(lang, "history.bad_date", field=msg(label), text=text))
            days.append("")
    page_n = max(1, int(page or 1))
    df = studio.history(status=status, since=days[0], until=days[1], limit=PAGE, offset=(page_n - 1) * PAGE,
                        review=review)
    rows = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    for row in rows:
        error, qc = error_msg(row), qc_of(row)
        row["status"], row["error"] = status_text(row["status"], lang), error.text(lang) if error else None
        if row.get("archived"):  # never shown as a missing file
            row["status"] = status_text(row["archived"], lang)
        row["review"], row["qc"] = review_text(row["review"], lang), qc.text(lang) if qc else ""
    return pd.DataFrame([[row[c] for c in HISTORY_COLUMNS] for row in rows],
                        columns=columns(list(HISTORY_COLUMNS.values()), lang))


def pick_job(studio: Studio, df: pd.DataFrame, lang: str, evt: gr.SelectData):
    """The clicked job: its id, details in words (the whole error, the check and the review), its video,
    the batch ZIP, its contact sheet and review note."""
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    job = dict(zip(HISTORY_COLUMNS, df.iloc[row]))  # headers are translated: read by position
    out = job["output"] if isinstance(job["output"], str) and Path(job["output"]).is_file() else None
    details = f"**{job['template']}** + {job['audio']}: {job['status']}"
    for extra in (job["error"], job["qc"], job["review"]):
        if isinstance(extra, str) and extra:
            details += f"  \n{extra}"
    zip_path = studio.resolve_zip(job["batch"])
    files = [f for f in (out, str(zip_path) if zip_path else None) if f]
    stored = studio.job(job["id"]) or {}
    qc = qc_of(stored)
    sheet = studio.settings.outputs_dir / job["batch"] / qc.sheet if qc and qc.sheet else None
    return (job["id"], details, out, files or None, gr.update(visible=False),
            str(sheet) if sheet and sheet.is_file() else None, stored.get("review_note") or "")


def ask_delete(job_id: str, details: str, lang: str):
    """First click: ask (nothing is deleted yet)."""
    if not job_id:
        gr.Warning(t(lang, "history.pick_first"))
        return gr.update(visible=False), ""
    return gr.update(visible=True), t(lang, "history.ask_delete", job=details.splitlines()[0])


def delete_job(studio: Studio, job_id: str, status: str, review: str, since: str, until: str, page: float | None,
               lang: str, request: gr.Request):
    """Second click: delete the video and its history row (the batch ZIP is rebuilt without it)."""
    if job_id:
        studio.delete(job_id, actor(request))
        gr.Info(t(lang, "history.deleted"))
    return "", "", None, None, gr.update(visible=False), history(studio, status, review, since, until, page, lang)


def resume(studio: Studio, batch: str | None, lang: str):
    """Queue the unfinished items of the batch and follow them."""
    if not batch:
        raise gr.Error(t(lang, "history.pick_batch"))
    try:
        ticket = studio.resume(batch)
    except LipsyncError as e:
        raise gr.Error(e.text(lang)) from e

    def render(tk):
        view = studio.view(tk)
        if view.state == "queued":
            return view.headline(lang)
        if not view.finished:
            return t(lang, "history.resuming", batch=batch, item=view.item, items=view.n_items, message=view.message)
        if view.state == "failed":
            return t(lang, "history.resume_failed", error=view.error or "")
        tail = t(lang, "batch.failed_tail", failed=len(view.failed)) if view.failed else ""
        return t(lang, "history.resumed", batch=batch, done=len(view.done), items=view.n_items) + tail

    yield from follow(ticket, render)


def resumable_choices(studio: Studio):
    return gr.update(choices=studio.resumable_batches(), value=None)


def status_choices(lang: str) -> list[tuple[str, str]]:
    return [(t(lang, "history.all") if s == "all" else status_text(s, lang), s) for s in STATUS_FILTER]


def export_audit(studio: Studio, since: str, until: str, lang: str) -> str | None:
    """The audit log (optionally from / to a day) as a CSV file to download."""
    try:
        days = [parse_day(since), parse_day(until)]
    except ValueError:
        gr.Warning(t(lang, "audit.bad_dates"))
        return None
    target = studio.settings.data_dir / "exports" / f"audit_{days[0] or 'start'}_{days[1] or 'now'}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    return str(studio.audit.export_csv(target, days[0] or None, days[1] or None))


def review_choices(lang: str) -> list[tuple[str, str]]:
    return [(t(lang, "history.all") if r == "all" else review_text(r, lang), r) for r in REVIEW_FILTER]


def build(studio: Studio, tx: Texts, lang: gr.State) -> tuple[gr.Dataframe, list]:
    """The tab; returns the table and its filter inputs (the page refreshes it when opened)."""
    show = partial(history, studio)
    with gr.Row():
        status = tx.make(gr.Dropdown, {"label": "col.status", "choices": status_choices}, value="all", min_width=120)
        review = tx.make(gr.Dropdown, {"label": "col.review", "choices": review_choices}, value="all",
                         min_width=120, elem_id="history-review-filter")
        since = tx.make(gr.Textbox, {"label": "history.from_label"}, placeholder="2026-11-24")
        until = tx.make(gr.Textbox, {"label": "history.to_label"}, placeholder="2026-11-24")
        page = tx.make(gr.Number, {"label": "history.page"}, value=1, precision=0, minimum=1, min_width=80)
        refresh = tx.make(gr.Button, {"value": "history.refresh"})
    # space used and free, whenever the page opens (the Batch tab warns on its own when it runs short)
    tx.make(gr.Markdown, {"value": lambda lang: studio.storage().text(lang)}, elem_id="storage")
    table = tx.make(gr.Dataframe, {"label": "history.table"}, value=show("all", "all", "", "", 1, tx.lang),
                    interactive=False, wrap=True, elem_id="history-table")
    with gr.Row():
        job = tx.make(gr.Textbox, {"label": "history.selected"}, interactive=False, elem_id="history-job")
        delete = tx.make(gr.Button, {"value": "history.delete"}, variant="stop")
    details = gr.Markdown(elem_id="history-details")
    with gr.Row(visible=False) as confirm_row:
        question = gr.Markdown()
        confirm = tx.make(gr.Button, {"value": "history.confirm_delete"}, variant="stop")
        cancel = tx.make(gr.Button, {"value": "history.cancel"})
    with gr.Row():
        video = tx.make(gr.Video, {"label": "history.output"}, interactive=False)
        files = tx.make(gr.File, {"label": "history.download"}, file_count="multiple", interactive=False,
                        elem_id="history-files")
    inputs = [status, review, since, until, page, lang]
    sheet, note = review_panel.build(studio, tx, lang, job, details, files, table, inputs, show)
    with tx.make(gr.Accordion, {"label": "audit.title"}, open=False):
        with gr.Row():
            audit_from = tx.make(gr.Textbox, {"label": "history.from_label"}, placeholder="2026-11-01")
            audit_to = tx.make(gr.Textbox, {"label": "history.to_label"}, placeholder="2026-11-30")
            export = tx.make(gr.Button, {"value": "audit.export"})
        audit_file = tx.make(gr.File, {"label": "audit.file"}, interactive=False, elem_id="audit-file")
    export.click(partial(export_audit, studio), [audit_from, audit_to, lang], audit_file, api_name=False)
    with gr.Row():
        batches = tx.make(gr.Dropdown, {"label": "history.interrupted"}, choices=studio.resumable_batches(),
                          elem_id="resumable", allow_custom_value=True)
        resume_btn = tx.make(gr.Button, {"value": "history.resume"})
    resume_status = gr.Markdown()
    resume_btn.click(partial(resume, studio), [batches, lang], resume_status, api_name="resume",
                     concurrency_limit=None).then(partial(resumable_choices, studio), None, batches,
                                                  api_name=False).then(show, inputs, table, api_name=False)
    refresh.click(show, inputs, table, api_name="history").then(
        partial(resumable_choices, studio), None, batches, api_name=False)
    for comp in (status, review, page):
        comp.change(show, inputs, table, api_name=False)
    for comp in (since, until):
        comp.submit(show, inputs, table, api_name=False)
    gr.Timer(FOLLOW_S).tick(show, inputs, table, api_name=False)  # new jobs appear while the tab is open

    def on_select(df: pd.DataFrame, lang: str, evt: gr.SelectData):  # Gradio finds SelectData by this annotation
        return pick_job(studio, df, lang, evt)

    table.select(on_select, [table, lang], [job, details, video, files, confirm_row, sheet, note], api_name=False)
    delete.click(ask_delete, [job, details, lang], [confirm_row, question], api_name=False)
    cancel.click(lambda: gr.update(visible=False), None, confirm_row, api_name=False)
    confirm.click(partial(delete_job, studio), [job, *inputs], [job, details, video, files, confirm_row, table],
                  api_name=False)
    return table, inputs
