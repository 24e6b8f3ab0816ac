"""What a person (web UI) or a script (HTTP API) sees of a queued or running batch: one view model,
so both show the same states, the same queue position and the same texts (in the reader's language;
scripts get English)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .batch import BatchProgress, BatchResult
from .i18n import DEFAULT, Msg, t
from .jobs import Ticket
from .jobs.store import review_counts
from .qc import QcReport

#: the words for job states and item stages (literal keys: the catalogue test finds every one in the code)
STATUS_KEYS = {"waiting": "status.waiting", "queued": "status.queued", "running": "status.running",
               "done": "status.done", "failed": "status.failed", "interrupted": "status.interrupted",
               "checking": "stage.checking", "analysing": "stage.analysing", "lip-syncing": "stage.lipsyncing",
               "encoding": "stage.encoding", "archived": "status.archived", "deleted": "status.deleted"}


REVIEW_KEYS = {"to_review": "review.to_review", "approved": "review.approved", "rejected": "review.rejected"}


def review_text(review: str | None, lang: str = DEFAULT) -> str:
    """A review state in words ('' for jobs that have no finished video)."""
    return t(lang, REVIEW_KEYS[review]) if review in REVIEW_KEYS else ""


def status_text(status: str, lang: str = DEFAULT) -> str:
    """A job state or an item's stage in words ('lip-syncing' -> '正在对口型')."""
    key = STATUS_KEYS.get(status)
    return t(lang, key) if key else status


def waiting_text(position: int, lang: str = DEFAULT) -> str:
    """The one waiting message, wherever a job waits (behind a browser's batch or an HTTP job)."""
    return t(lang, "queue.waiting", before=position - 1) if position > 1 else t(lang, "queue.starting")


@dataclass(frozen=True)
class ItemView:
    """One row of a batch."""

    index: int                 #: 1-based
    template: str
    audio: str
    status: str                #: waiting, running, done, failed
    stage: str                 #: what it is doing now (e.g. 'lip-syncing') while it runs, else the status
    output: Path | None
    job_id: str | None
    error: Msg | None
    warnings: tuple[Msg, ...] = ()
    qc: QcReport | None = None      #: the automatic check of the finished video
    review: str | None = None       #: to_review, approved, rejected (finished videos only)
    review_note: str | None = None

    def to_json(self) -> dict:
        """The item for scripts (HTTP API, gradio_client): English texts with stable codes."""
        return {"job_id": self.job_id, "audio": self.audio, "template": self.template, "status": self.status,
                "output": self.output.name if self.output else None,
                "error": str(self.error) if self.error else None, "error_code": self.error.key if self.error else None,
                "qc": self.qc.to_dict() if self.qc else None, "review": self.review, "review_note": self.review_note}

    def shown(self, lang: str = DEFAULT) -> str:
        return status_text(self.stage, lang)

    def details(self, lang: str = DEFAULT) -> str:
        """The error, or the output name and any warnings."""
        text = self.error.text(lang) if self.error else (self.output.name if self.output else "")
        if self.warnings:
            text += " (" + " ".join(w.text(lang) for w in self.warnings) + ")"
        return text


@dataclass(frozen=True)
class BatchView:
    """A batch job as the UI and the HTTP API show it."""

    job_id: str
    kind: str
    state: str                 #: queued, running, done, failed (the job itself, not its items)
    queue_position: int        #: 0 when running or finished
    item: int                  #: 1-based item being worked on
    n_items: int
    stage: str
    overall: float             #: 0..1 over the whole batch
    message: Msg
    items: tuple[ItemView, ...]
    batch: str | None          #: output folder name
    zip_path: Path | None      #: the ZIP of the finished videos, once there is one
    error: Msg | None          #: why the job itself stopped (items carry their own errors)
    reviews: dict[str, int] = field(default_factory=dict)  #: finished videos per review state

    @property
    def done(self) -> list[ItemView]:
        return [i for i in self.items if i.status == "done"]

    @property
    def videos(self) -> list[ItemView]:
        """The finished items whose video is still there to show and hand out (one deleted in History
        meanwhile is not offered; the ZIP is checked the same way in ``batch_view``)."""
        return [i for i in self.done if i.output and Path(i.output).is_file()]

    @property
    def failed(self) -> list[ItemView]:
        return [i for i in self.items if i.status == "failed"]

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def headline(self, lang: str = DEFAULT) -> str:
        """One line: waiting, progress "3 / 10", or the final count."""
        if self.state == "queued":
            return waiting_text(self.queue_position, lang)
        if self.state == "failed":
            return t(lang, "batch.stopped", error=self.error or "")
        if self.state == "done":
            text = t(lang, "batch.finished", done=len(self.done), items=self.n_items)
            text += t(lang, "batch.failed_tail", failed=len(self.failed)) if self.failed else ""
            return text + (" — " + review_counts_text(self.reviews, lang) if self.reviews else "")
        return t(lang, "batch.progress", finished=len(self.done) + len(self.failed), items=self.n_items,
                 item=self.item, message=self.message)


def summary(view: BatchView, lang: str = DEFAULT) -> str:
    """The headline, then every failed item with its whole reason (never cut off in a table cell)."""
    lines = [view.headline(lang)]
    lines += [f"- **{i.template}** ({i.audio}): {i.error.text(lang) if i.error else ''}" for i in view.failed]
    return "\n".join(lines)


def review_counts_text(counts: dict[str, int], lang: str = DEFAULT) -> str:
    """'7 approved, 1 rejected, 2 to review'."""
    return t(lang, "review.counts", approved=counts.get("approved", 0), rejected=counts.get("rejected", 0),
             to_review=counts.get("to_review", 0))


def batch_view(ticket: Ticket, position: int, rows: dict[str, dict] | None = None) -> BatchView:
    """The view of a batch ticket (its planned items are there from the moment it is queued); ``rows``
    are the batch's history rows by job id (review decisions)."""
    rows = rows or {}
    p: BatchProgress | None = ticket.progress
    result = ticket.result if isinstance(ticket.result, BatchResult) else None
    items = result.items if result else (p.items if p else ())
    running = p.item if p and ticket.state == "running" else None
    items_out = []
    for n, it in enumerate(items):
        stage = p.stage if it.status == "running" and n == running and p.stage not in ("done", "failed") \
            else it.status
        warnings = tuple(it.result.warnings) if it.result else ()
        row = rows.get(it.job_id or "", {})
        items_out.append(ItemView(n + 1, it.template, it.audio, it.status, stage, it.output, it.job_id, it.error,
                                  warnings, it.result.qc if it.result else None, row.get("review"),
                                  row.get("review_note")))
    folder = result.folder if result else (items[0].planned.parent if items else None)
    zip_path = result.zip_path if result and result.done and result.zip_path.is_file() else None
    return BatchView(job_id=ticket.id, kind=ticket.kind, state=ticket.state, queue_position=position,
                     item=(p.item + 1) if p else 0, n_items=p.n_items if p else len(items),
                     stage=p.stage if p else "queued", overall=round(p.overall, 3) if p else 0.0,
                     message=p.message if p else Msg("common.empty"), items=tuple(items_out),
                     batch=folder.name if folder else None, zip_path=zip_path, error=ticket.error,
                     reviews=review_counts((i.status, i.review) for i in items_out) if rows else {})
