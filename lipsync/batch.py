"""A batch: its plan (pure), its items as they run, and the loop that runs them one by one.

One item failing never stops the others; every item is recorded in the history before work starts;
the manifest is rewritten after every item, so whatever finished is recorded.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

from .config import JobOptions
from .errors import LipsyncError
from .face import content_hash
from .files import atomic_path
from .i18n import Msg, msg
from .jobs.audit import AuditLog
from .jobs.store import JobStore
from .naming import output_name
from .pipeline import JobResult, JobSpec, Progress, run_job
from .runtime import Runtime

log = logging.getLogger("lipsync.batch")


@dataclass
class ItemResult:
    """One (audio, template) item of a batch."""

    audio: str
    template: str
    status: str = "waiting"          #: waiting, running, done, failed
    output: Path | None = None
    error: Msg | None = None         #: why it failed (``str()`` is the English text)
    seconds: float = 0.0
    result: JobResult | None = None
    job_id: str | None = None
    audio_path: Path = Path()
    template_path: Path = Path()
    planned: Path = Path()  #: where the output is written when the item succeeds
    options: JobOptions | None = None  #: this item's own options (a re-run with another engine), else the batch's

    def to_json(self, folder: Path | None = None) -> dict:
        out = {"job_id": self.job_id, "audio": self.audio, "template": self.template, "status": self.status,
               "output": (self.output.name if folder and self.output else str(self.output or "")) or None,
               "error": str(self.error) if self.error else None,
               "error_code": self.error.key if self.error else None, "seconds": round(self.seconds, 2)}
        if self.result:
            out.update(self.result.facts())
            out["warnings"] = [str(w) for w in self.result.warnings]
            out["qc"] = self.result.qc.to_dict() if self.result.qc else None
        return out


def zip_path_for(folder: Path) -> Path:
    """The ZIP of a batch folder's videos."""
    return folder / f"{folder.name}.zip"


@dataclass
class BatchResult:
    """All items of a batch, its folder, options and manifest."""

    folder: Path
    items: list[ItemResult] = field(default_factory=list)
    options: JobOptions = field(default_factory=JobOptions)

    @property
    def engine(self) -> str:
        return self.options.engine or ""

    @property
    def manifest(self) -> Path:
        return self.folder / "manifest.json"

    @property
    def zip_path(self) -> Path:
        """Where the ZIP of the batch's videos goes: ``<folder>/<folder name>.zip``."""
        return zip_path_for(self.folder)

    @property
    def done(self) -> list[ItemResult]:
        return [i for i in self.items if i.status == "done"]

    @property
    def failed(self) -> list[ItemResult]:
        return [i for i in self.items if i.status == "failed"]


@dataclass(frozen=True)
class BatchProgress:
    """Progress of a batch: which item, its stage, and the overall fraction."""

    item: int          #: 0-based index of the current item
    n_items: int
    stage: str
    fraction: float    #: of the current item
    message: str
    items: tuple[ItemResult, ...] = ()

    @property
    def overall(self) -> float:
        return (self.item + self.fraction) / max(self.n_items, 1)


BatchProgressFn = Callable[[BatchProgress], None]


def plan_batch(folder: Path, audios: Sequence[str | Path], templates: Sequence[str | Path],
               options: JobOptions, names: dict[str, str] | None = None,
               faces: dict[str, int] | None = None) -> BatchResult:
    """Every audio x every template, with readable unique output names in ``folder`` (pure: nothing
    is written). ``names`` maps an input path to the name the user knows it by (uploads get
    temporary paths); ``faces`` maps a template path to the face that speaks in it (library
    templates); ``options.engine`` must already be resolved."""
    names, faces = names or {}, faces or {}
    label = lambda p: names.get(str(p), Path(p).name)
    batch = BatchResult(folder=folder, options=options)
    taken: set[str] = set()
    for a in audios:
        for t in templates:
            face = faces.get(str(t))
            batch.items.append(ItemResult(audio=label(a), template=label(t), audio_path=Path(a),
                                          template_path=Path(t), planned=folder / output_name(label(t), label(a),
                                                                                               taken),
                                          options=replace(options, face=face) if face else None))
    return batch


def failed_batch(batch: BatchResult, error: Msg) -> BatchResult:
    """The plan with every item failed for one reason (e.g. the output folder cannot be made)."""
    return replace(batch, items=[replace(i, status="failed", error=error) for i in batch.items])


class BatchRun:
    """Runs a batch's items that are not done yet, in order, recording each in the history."""

    def __init__(self, runtime: Runtime, store: JobStore | None, audit: AuditLog | None = None, remote=None):
        self.runtime, self.store, self.audit = runtime, store, audit
        self.remote = remote  #: a ``remote.RemoteItems`` when the items go to Celery workers

    def record_planned(self, batch: BatchResult) -> None:
        """Every item goes into the history as queued (with its inputs and options) before work starts."""
        if not self.store:
            return
        opts = json.dumps(asdict(batch.options))
        for item in batch.items:
            item.job_id = self.store.add(batch.folder.name, item.audio, item.template, batch.engine,
                                         audio_path=str(item.audio_path), template_path=str(item.template_path),
                                         output=str(item.planned), options=opts)

    def run(self, batch: BatchResult, progress: BatchProgressFn | None = None,
            only: Sequence[int] | None = None) -> BatchResult:
        """Run the items not done yet (or only the items at the indices ``only``), in order."""
        write_manifest(batch)
        todo = [n for n, item in enumerate(batch.items)
                if (item.status != "done" and only is None) or (only is not None and n in only)]
        if self.remote is not None:
            self.remote.run(self, batch, todo, progress)
        else:
            for n in todo:
                self._run_item(batch, n, batch.items[n], progress)
        log.info("batch %s: %d done, %d failed", batch.folder.name, len(batch.done), len(batch.failed))
        return batch

    def spec(self, batch: BatchResult, item: ItemResult) -> JobSpec:
        return JobSpec(item.audio_path, item.template_path, item.planned, item.options or batch.options)

    def start_item(self, item: ItemResult, report: Callable[[Progress], None]) -> None:
        """The item is running (recorded in the history)."""
        item.status, item.error = "running", None
        self._record(item, status="running", started=time.time())
        report(Progress("checking", 0.0, msg("progress.starting", file=item.template)))

    def _run_item(self, batch: BatchResult, n: int, item: ItemResult, progress: BatchProgressFn | None) -> None:
        report = reporter(progress, n, batch)
        self.start_item(item, report)
        t0 = time.perf_counter()
        result, error = None, None
        try:
            result = run_job(self.spec(batch, item), self.runtime, report)
        except LipsyncError as e:
            error = e.msg
        except Exception as e:  # never let one item stop the batch; the log keeps the traceback
            error = msg("err.unexpected", file=item.planned.name, detail=f"{type(e).__name__}: {e}")
            log.exception("item %s + %s crashed", item.template, item.audio)
        self.finish_item(batch, item, result, error, time.perf_counter() - t0, report)

    def finish_item(self, batch: BatchResult, item: ItemResult, result: JobResult | None, error: Msg | None,
                    seconds: float, report: Callable[[Progress], None]) -> None:
        """Record a finished (``result``) or failed (``error``) item: history, manifest, audit, progress."""
        item.result, item.seconds = result, seconds
        if result is not None:
            item.output, item.status = result.output, "done"
        else:
            item.status, item.error = "failed", error
            log.warning("item %s + %s failed: %s", item.template, item.audio, error)
        qc = item.result.qc if item.status == "done" and item.result else None
        self._record(item, status=item.status, seconds=round(item.seconds, 2), error=item.error,
                     finished=time.time(), qc=json.dumps(qc.to_dict(), ensure_ascii=False) if qc else None,
                     review="to_review" if item.status == "done" else None, review_note=None, reviewer=None,
                     reviewed=None)
        write_manifest(batch)
        self._audit_item(batch, item)
        report(Progress("done" if item.status == "done" else "failed", 1.0,
                        item.error or msg("progress.finished", file=item.planned.name)))

    def _audit_item(self, batch: BatchResult, item: ItemResult) -> None:
        """The audit row of a finished or failed item (with the output's content hash)."""
        if not self.audit:
            return
        if item.status == "done" and item.output:
            self.audit.record("finish", batch=batch.folder.name, job_id=item.job_id,
                              files=[item.template, item.audio, item.output.name], hashes=[content_hash(item.output)])
        else:
            self.audit.record("failure", batch=batch.folder.name, job_id=item.job_id,
                              files=[item.template, item.audio], detail=str(item.error))

    def _record(self, item: ItemResult, **fields) -> None:
        if self.store and item.job_id:
            try:
                self.store.update(item.job_id, **fields)
            except Exception:  # history trouble must not fail the video itself
                log.exception("could not record job %s", item.job_id)


def reporter(progress: BatchProgressFn | None, n: int, batch: BatchResult) -> Callable[[Progress], None]:
    def report(p: Progress) -> None:
        if progress:
            progress(BatchProgress(n, len(batch.items), p.stage, p.fraction, p.message, tuple(batch.items)))
    return report


def write_manifest(batch: BatchResult) -> None:
    """``manifest.json`` of the batch folder (written atomically)."""
    data = {"folder": batch.folder.name, "engine": batch.engine, "options": asdict(batch.options),
            "updated": datetime.now().isoformat(timespec="seconds"),
            "items": [i.to_json(batch.folder) for i in batch.items]}
    with atomic_path(batch.manifest) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
