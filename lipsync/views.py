"""What a person (web UI) or a script (HTTP API) sees of a queued or running batch: one view model,
so both show the same states, the same queue position and the same texts."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .batch import BatchProgress, BatchResult
from .jobs import Ticket


def waiting_text(position: int) -> str:
    """The one waiting message, wherever a job waits (behind a browser's batch or an HTTP job)."""
    return f"Waiting in the queue: {position - 1} job(s) before this one…" if position > 1 else "Starting…"


@dataclass(frozen=True)
class ItemView:
    """One row of a batch."""

    index: int                 #: 1-based
    template: str
    audio: str
    status: str                #: waiting, running, done, failed
    shown: str                 #: what a person sees: the current stage (e.g. 'lip-syncing') while it runs
    details: str               #: the error, or the output name and any warnings
    output: Path | None
    job_id: str | None
    error: str | None


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
    message: str
    items: tuple[ItemView, ...]
    batch: str | None          #: output folder name
    zip_path: Path | None      #: the ZIP of the finished videos, once there is one
    error: str | None          #: why the job itself stopped (items carry their own errors)

    @property
    def done(self) -> list[ItemView]:
        return [i for i in self.items if i.status == "done"]

    @property
    def failed(self) -> list[ItemView]:
        return [i for i in self.items if i.status == "failed"]

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def headline(self) -> str:
        """One line: waiting, progress "3 / 10", or the final count."""
        if self.state == "queued":
            return waiting_text(self.queue_position)
        if self.state == "failed":
            return f"**The batch stopped unexpectedly:** {self.error}"
        if self.state == "done":
            tail = f", {len(self.failed)} failed" if self.failed else ""
            return f"**Finished: {len(self.done)} / {self.n_items} done**{tail}"
        return f"**{len(self.done) + len(self.failed)} / {self.n_items}** finished — item {self.item}: {self.message}"


def summary(view: BatchView) -> str:
    """The headline, then every failed item with its whole reason (never cut off in a table cell)."""
    lines = [view.headline()]
    lines += [f"- **{i.template}** ({i.audio}): {i.error}" for i in view.failed]
    return "\n".join(lines)


def batch_view(ticket: Ticket, position: int) -> BatchView:
    """The view of a batch ticket (its planned items are there from the moment it is queued)."""
    p: BatchProgress | None = ticket.progress
    result = ticket.result if isinstance(ticket.result, BatchResult) else None
    items = result.items if result else (p.items if p else ())
    running = p.item if p and ticket.state == "running" else None
    rows = []
    for n, it in enumerate(items):
        shown = p.stage if it.status == "running" and n == running and p.stage not in ("done", "failed") \
            else it.status
        detail = it.error or (it.output.name if it.output else "")
        if it.result and it.result.warnings:
            detail += " (" + " ".join(it.result.warnings) + ")"
        rows.append(ItemView(n + 1, it.template, it.audio, it.status, shown, detail, it.output, it.job_id,
                             it.error))
    folder = result.folder if result else (items[0].planned.parent if items else None)
    zip_path = result.zip_path if result and result.done and result.zip_path.is_file() else None
    return BatchView(job_id=ticket.id, kind=ticket.kind, state=ticket.state, queue_position=position,
                     item=(p.item + 1) if p else 0, n_items=p.n_items if p else len(items),
                     stage=p.stage if p else "queued", overall=round(p.overall, 3) if p else 0.0,
                     message=p.message if p else "", items=tuple(rows),
                     batch=folder.name if folder else None, zip_path=zip_path, error=ticket.error)
