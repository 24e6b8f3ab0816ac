"""THE one API every front end calls: the web UI, the HTTP API, the CLI and scripts.

Plan a batch, run it (now, or queued on the one-at-a-time runner), view a queued job, resume an
interrupted batch, check a template (through the same runner), the template library, the history.
Front ends hold no pipeline logic and touch no files themselves.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import zipfile
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Sequence

import pandas as pd

from .batch import (
    BatchProgress,
    BatchProgressFn,
    BatchResult,
    BatchRun,
    ItemResult,
    failed_batch,
    plan_batch,
    write_manifest,
    zip_path_for,
)
from .config import JobOptions, Settings
from .engines import spec_for
from .errors import EngineError, LipsyncError, OutputError
from .face import content_hash
from .face.analyse import find_faces
from .files import atomic_path
from .housekeeping import Swept, sweep
from .i18n import Msg
from .jobs import JobRunner, JobStore, Ticket
from .jobs.audit import Actor, AuditLog
from .jobs.store import error_msg
from .library import TemplateLibrary
from .media.encode import PARTIAL_SUFFIX
from .naming import new_batch_dir
from .pipeline import analyse, probe_template
from .remote import RemoteItems
from .report import TemplateReport, evaluate
from .review import Reviews
from .runtime import Runtime
from .storage import Storage, check_space, running_short, storage
from .uploads import Upload, keep
from .views import BatchView, batch_view

log = logging.getLogger("lipsync.studio")
HOUSEKEEPING_EVERY_S = 24 * 3600  # retention runs once a day


def _owner_alive(name: str) -> bool:
    """Work folders are named ``job-<pid>-...``: is that process still running?"""
    parts = name.split("-")
    if len(parts) < 3 or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return int(parts[1]) != os.getpid()


class Studio:
    """Engines and caches (kept loaded), the SQLite history and the one-at-a-time runner.

    The ``*_now`` and ``generate*`` methods run in the caller's thread (CLI, scripts, tests); ``submit``,
    ``resume`` and ``check_template`` queue on the runner and return a Ticket (web UI, HTTP API), so
    every job, whoever sent it, runs one after the other.
    """

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.runtime = Runtime(self.settings)
        self.store = JobStore(self.settings.data_dir / "jobs.sqlite3")
        self.runner = JobRunner()
        self.audit = AuditLog(self.settings.data_dir / "jobs.sqlite3")
        self.remote = RemoteItems(self.settings) if self.settings.broker_url else None
        self._batches = BatchRun(self.runtime, self.store, self.audit, self.remote)
        self.reviews = Reviews(self.store, self.settings.outputs_dir)
        self.library_store = TemplateLibrary(self.settings.data_dir / "library")

    @property
    def engines(self):
        return self.runtime.engines

    @property
    def face_cache(self):
        return self.runtime.face_cache

    # -- start-up (the app only: a CLI run beside a running app must not touch its jobs) -------------
    def recover(self) -> int:
        """After a crash: unfinished jobs become 'interrupted' (resumable) and half-written files go."""
        n = self.store.mark_unfinished_interrupted()
        if n:
            log.warning("%d job(s) were interrupted by the last shutdown", n)
        return self.clean_leftovers()

    def clean_leftovers(self) -> int:
        """Remove what a killed process left half-written: partial videos, temp files, work folders."""
        removed = 0
        patterns = [(self.settings.outputs_dir, f"*/.*{PARTIAL_SUFFIX}"), (self.settings.outputs_dir, "*/.*.tmp"),
                    (self.settings.data_dir, "library/.*.tmp"), (self.settings.cache_dir, "faces/.*.tmp"),
                    (self.settings.cache_dir, "phones/.*.tmp")]
        for root, pattern in patterns:
            for path in root.glob(pattern):
                path.unlink(missing_ok=True)
                removed += 1
        work = self.settings.work_dir
        if work.is_dir():
            for path in work.iterdir():
                if _owner_alive(path.name):
                    continue  # another process (e.g. a CLI run) is still using it
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("start-up: removed %d leftover temporary file(s)", removed)
        return removed

    # -- batches -------------------------------------------------------------------------------------
    def options(self, engine: str | None = None, **changes) -> JobOptions:
        """Job options with the engine resolved (the one place where "no engine" means the default)."""
        name = engine or self.settings.engine
        missing = spec_for(name).missing(self.settings)  # an unknown name fails here, with the valid ones
        if missing:
            raise EngineError(missing)
        return JobOptions(engine=name, **changes)

    def housekeep(self) -> Swept:
        """One retention pass now (``settings.keep_days``, ``settings.archive_dir``)."""
        return sweep(self.store, self.audit, self.settings.outputs_dir, self.settings.data_dir,
                     self.settings.keep_days, self.settings.archive_dir)

    def start_daily_housekeeping(self) -> threading.Thread:
        """A daemon thread that runs ``housekeep`` at start-up and then once a day."""
        def loop() -> None:
            while True:
                try:
                    self.housekeep()
                except Exception:  # the app must keep serving; the log says what went wrong
                    log.exception("housekeeping failed")
                time.sleep(HOUSEKEEPING_EVERY_S)

        thread = threading.Thread(target=loop, name="housekeeping", daemon=True)
        thread.start()
        return thread

    def check_space(self) -> None:
        """Raise OutputError (``err.disk_low``) when the disk is too full to start new work."""
        check_space(self.settings)

    def storage(self) -> Storage:
        """Space used by outputs, uploads and caches, and free on the disk."""
        return storage(self.settings)

    def running_short(self) -> bool:
        """Whether the disk is filling up (cheap: only the free space is read)."""
        return running_short(self.settings)

    def plan(self, audios: Sequence[str | Path], templates: Sequence[str | Path],
             options: JobOptions | None = None, names: dict[str, str] | None = None,
             folder: Path | None = None, faces: dict[str, int] | None = None) -> BatchResult:
        """A batch ready to run in a new output folder; if the folder cannot be made, every item is
        already failed with the reason (the caller, and the app, go on). Raises OutputError
        (``err.disk_low``) when the disk is nearly full: nothing is recorded then."""
        self.check_space()
        options = self.options(**{f.name: getattr(options, f.name) for f in fields(JobOptions)}) \
            if options else self.options()
        try:
            target = Path(folder) if folder else new_batch_dir(self.settings.outputs_dir)
            target.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            target = Path(folder or self.settings.outputs_dir)
            reason = OutputError("err.output_folder_create", folder=str(target), detail=e.strerror or str(e))
            log.error("batch not started: %s", reason)
            return failed_batch(plan_batch(target, audios, templates, options, names, faces), reason.msg)
        batch = plan_batch(target, audios, templates, options, names, faces)
        self._batches.record_planned(batch)
        return batch

    def run(self, batch: BatchResult, progress: BatchProgressFn | None = None) -> BatchResult:
        """Run a planned (or resumed) batch now; finished videos also go into the batch ZIP."""
        if batch.items and all(i.status == "failed" for i in batch.items) and not any(i.job_id for i in batch.items):
            return batch  # the plan already failed as a whole (no folder)
        self._batches.run(batch, progress)
        if batch.done:
            self.zip_batch(batch)
        return batch

    def generate_batch(self, audios: Sequence[str | Path], templates: Sequence[str | Path],
                       options: JobOptions | None = None, progress: BatchProgressFn | None = None,
                       folder: Path | None = None, names: dict[str, str] | None = None) -> BatchResult:
        """Every audio x every template, now. One item failing never stops the others."""
        batch = self.plan(audios, templates, options, names, folder)
        self._audit_submit(batch, Actor(client="cli"))
        return self.run(batch, progress)

    def generate(self, audio: str | Path, template: str | Path, options: JobOptions | None = None,
                 progress: BatchProgressFn | None = None, folder: Path | None = None) -> ItemResult:
        """One audio + one template -> one video, now (in a new batch folder unless ``folder`` is given)."""
        return self.generate_batch([audio], [template], options, progress, folder).items[0]

    def submit(self, audios: Sequence[str | Path], templates: Sequence[str | Path],
               options: JobOptions | None = None, names: dict[str, str] | None = None,
               kind: str = "batch", faces: dict[str, int] | None = None, actor: Actor | None = None) -> Ticket:
        """Plan now (the items are in the history at once) and queue the run on the runner; library
        templates speak with their chosen face unless ``faces`` says otherwise."""
        faces = {**{str(t): f for t in templates if (f := self._library_face_of(t))}, **(faces or {})}
        batch = self.plan(audios, templates, options, names, faces=faces)
        self._audit_submit(batch, actor)
        return self._queue(kind, batch)

    def submit_uploads(self, audio: Upload, templates: Sequence[Upload | Path], options: JobOptions | None = None,
                       kind: str = "batch", actor: Actor | None = None) -> Ticket:
        """What every front end does with handed-in files: check the space (before anything is copied),
        keep the uploads, name each input as its owner knows it (library templates by their label, used
        where they are) and queue the batch. Raises OutputError when the disk is nearly full."""
        self.check_space()
        kept_audio = keep(self.uploads_dir, audio)
        names, kept = {str(kept_audio): audio.name}, []
        for tp in templates:
            if isinstance(tp, Upload):
                path, name = keep(self.uploads_dir, tp), tp.name
            else:
                path = Path(tp)
                name = self.library_label(path)
            names[str(path)] = name
            kept.append(path)
        return self.submit([kept_audio], kept, options, names, kind=kind, actor=actor)

    def _audit_submit(self, batch: BatchResult, actor: Actor | None) -> None:
        """Who submitted which inputs (names and content hashes)."""
        inputs = {str(i.audio_path): i.audio for i in batch.items} | {str(i.template_path): i.template
                                                                       for i in batch.items}
        hashes = [content_hash(Path(p)) if Path(p).is_file() else "" for p in inputs]
        self.audit.record("submit", actor, batch=batch.folder.name, files=list(inputs.values()), hashes=hashes,
                          detail=f"{len(batch.items)} item(s), engine {batch.engine}")

    def resume(self, batch_name: str) -> Ticket:
        """Queue the unfinished items of a recorded batch (finished ones are kept as they are)."""
        return self._queue("resume", self.load_batch(batch_name))

    def resume_now(self, batch_name: str, progress: BatchProgressFn | None = None) -> BatchResult:
        """Run the unfinished items of a recorded batch now, into the same folder, with its options."""
        return self.run(self.load_batch(batch_name), progress)

    def load_batch(self, batch_name: str) -> BatchResult:
        """A recorded batch as it stands (done items kept; the others waiting again, marked queued)."""
        batch = self._recorded_batch(batch_name)
        for item in batch.items:
            if item.status != "done":
                item.status, item.error = "waiting", None
                self.store.update(item.job_id, status="queued", error=None)
        return batch

    def _recorded_batch(self, batch_name: str) -> BatchResult:
        """A batch from the history: finished items with their videos, the others failed as recorded."""
        rows = self.store.batch_rows(batch_name)
        if not rows:
            raise LipsyncError("err.no_such_batch", batch=batch_name)
        stored = json.loads(rows[0]["options"]) if rows[0].get("options") else {"engine": rows[0]["engine"]}
        batch = BatchResult(folder=self.settings.outputs_dir / batch_name, options=JobOptions(**stored))
        batch.folder.mkdir(parents=True, exist_ok=True)
        for row in rows:
            out = Path(row["output"]) if row["output"] else None
            done = row["status"] == "done" and out is not None and out.is_file()
            batch.items.append(ItemResult(
                audio=row["audio"], template=row["template"], status="done" if done else "failed",
                output=out if done else None, error=None if done else error_msg(row), seconds=row["seconds"] or 0.0,
                job_id=row["id"], audio_path=Path(row["audio_path"] or ""),
                template_path=Path(row["template_path"] or ""), planned=out or Path()))
        return batch

    def rerun(self, job_id: str, engine: str | None = None, actor: Actor | None = None) -> Ticket:
        """Queue one video of a batch again (same inputs, optionally another engine). The old video stays
        until the new one is done; then the new one takes its place (name, history row, ZIP)."""
        row = self.store.get(job_id)
        if row is None:
            raise LipsyncError("err.no_such_job", job=job_id)
        batch = self._recorded_batch(row["batch"])
        old = next(i for i in batch.items if i.job_id == job_id)
        options = self.options(engine or batch.options.engine, **{
            f.name: getattr(batch.options, f.name) for f in fields(JobOptions) if f.name != "engine"})
        again = replace(old, status="waiting", output=None, error=None, result=None, options=options,
                        planned=Path(row["output"] or old.planned))
        again.job_id = self.store.add(batch.folder.name, again.audio, again.template, options.engine,
                                      audio_path=str(again.audio_path), template_path=str(again.template_path),
                                      output=str(again.planned), options=json.dumps(asdict(options)))
        batch.items.append(again)
        self.audit.record("rerun", actor, batch=batch.folder.name, job_id=again.job_id,
                          files=[again.template, again.audio], detail=f"again of {job_id}, engine {options.engine}")

        def work(ticket: Ticket) -> BatchResult:
            self._batches.run(batch, lambda p: setattr(ticket, "progress", p), only=[len(batch.items) - 1])
            if again.status == "done":  # the new video has replaced the old file: the old row goes
                batch.items.remove(old)
                self.store.delete(job_id)
                write_manifest(batch)
            if batch.done:
                self.zip_batch(batch)
            return batch

        ticket = self.runner.submit("rerun", work)
        ticket.progress = BatchProgress(0, len(batch.items), "queued", 0.0, Msg("common.empty"), tuple(batch.items))
        return ticket

    def _queue(self, kind: str, batch: BatchResult) -> Ticket:
        def work(ticket: Ticket) -> BatchResult:
            def on_progress(p: BatchProgress) -> None:
                ticket.progress = p
            return self.run(batch, on_progress)

        ticket = self.runner.submit(kind, work)
        # the planned items are visible while the job waits
        ticket.progress = BatchProgress(0, len(batch.items), "queued", 0.0, Msg("common.empty"), tuple(batch.items))
        return ticket

    # -- viewing queued work -------------------------------------------------------------------------
    def ticket(self, ticket_id: str) -> Ticket | None:
        return self.runner.get(ticket_id)

    def latest_batch(self) -> Ticket | None:
        """The batch job a page should show after a reload: the running or queued one, else the one
        that finished last (whoever submitted it)."""
        tickets = [t for t in self.runner.tickets() if t.kind != "check"]
        live = [t for t in tickets if not t.is_finished]
        pool = live or tickets
        return max(pool, key=lambda t: t.seq) if pool else None

    def view(self, ticket: Ticket) -> BatchView:
        """What the UI and the HTTP API show of a queued or running batch (with the review decisions
        once it has finished)."""
        rows = {}
        if ticket.is_finished and isinstance(ticket.result, BatchResult):
            rows = {r["id"]: r for r in self.store.batch_rows(ticket.result.folder.name)}
        return batch_view(ticket, self.runner.position(ticket), rows)

    # -- review --------------------------------------------------------------------------------------
    def review(self, job_id: str, decision: str, note: str = "", reviewer: str | None = None,
               client: str | None = None) -> dict:
        """Approve or reject a finished video (or put it back to review); returns its history row."""
        row = self.reviews.decide(job_id, decision, note, reviewer)
        out = Path(row["output"]) if row["output"] else None
        self.audit.record("review", Actor(reviewer, client), batch=row["batch"], job_id=job_id,
                          files=[out.name] if out else [], detail=f"{decision}: {note}".rstrip(": "))
        return row

    def approved_zip(self, batch: str) -> Path | None:
        """A ZIP of exactly the approved videos of a batch (None when none is approved yet)."""
        return self.reviews.approved_zip(batch) if self.resolve_batch(batch) else None

    def resolve_batch(self, batch: str) -> Path | None:
        """The folder ``outputs/<batch>`` if it is one of ours (no path tricks)."""
        root = self.settings.outputs_dir.resolve()
        folder = (root / batch).resolve()
        return folder if folder.parent == root and folder.is_dir() else None

    # -- templates -----------------------------------------------------------------------------------
    def check_template(self, path: str | Path, name: str | None = None, face: int | None = None) -> Ticket:
        """Queue a template check on the runner (it shares the machine with the jobs)."""
        return self.runner.submit("check", lambda _t: self.check_template_now(path, name, face))

    def check_template_now(self, path: str | Path, name: str | None = None, face: int | None = None) -> TemplateReport:
        """Evaluate a template now (its face analysis is cached for later jobs), with the faces it shows."""
        info = probe_template(Path(path))
        track = analyse(info, JobOptions(face=face), self.runtime.face_cache)
        report = evaluate(info, track)
        report.thumbs = find_faces(info)
        report.faces = len(report.thumbs)
        if name:
            report.name = name
        return report

    @property
    def library_dir(self) -> Path:
        return self.library_store.folder

    def add_to_library(self, path: str | Path, name: str | None = None,
                       face: int | None = None) -> tuple[Path, TemplateReport]:
        """Check a template and keep it in the library if it is usable (by content: the same video is
        stored once), with the face that speaks. Raises LipsyncError with the verdict's reasons when not."""
        path = Path(path)
        name = name or path.name
        report = self.check_template_now(path, name, face)
        if report.verdict == "poor":
            raise LipsyncError("err.not_added", file=name, reasons=report.reasons)
        return self.library_store.keep(path, name, face), report

    def add_to_library_queued(self, path: str | Path, name: str | None = None, face: int | None = None) -> Ticket:
        """``add_to_library`` on the runner (its check shares the machine with the jobs)."""
        return self.runner.submit("check", lambda _t: self.add_to_library(path, name, face))

    def rename_in_library(self, entry: Path, new_name: str) -> Path:
        """Give a library template another name."""
        return self.library_store.rename(entry, new_name)

    def remove_from_library(self, entry: Path) -> None:
        self.library_store.remove(entry)

    def library(self) -> list[Path]:
        """Templates kept in the library, newest first."""
        return self.library_store.entries()

    def library_face(self, entry: Path) -> int | None:
        """The face chosen for a library template."""
        return self.library_store.face(entry)

    def _library_face_of(self, template: str | Path) -> int | None:
        try:
            return self.library_store.face(self.library_store.entry(Path(template)))
        except LipsyncError:
            return None  # not a library template

    @staticmethod
    def library_label(path: Path) -> str:
        """The name a library file is shown by (without its content-hash prefix)."""
        return TemplateLibrary.label(path)

    # -- uploads, history, downloads -----------------------------------------------------------------
    @property
    def uploads_dir(self) -> Path:
        return self.settings.data_dir / "uploads"

    def history(self, status: str | None = None, since: str | None = None, until: str | None = None,
                limit: int = 50, offset: int = 0, review: str | None = None) -> pd.DataFrame:
        """Jobs newest first, optionally filtered by status, review state and date (YYYY-MM-DD), one page."""
        return self.store.history(status=status, since=since or None, until=until or None, limit=limit,
                                  offset=offset, review=review)

    def job(self, job_id: str) -> dict | None:
        """One history row (with its check and review)."""
        return self.store.get(job_id)

    def resumable_batches(self) -> list[str]:
        return self.store.resumable_batches()

    def delete(self, job_id: str, actor: Actor | None = None) -> None:
        """Delete a job's output video and its history row (its audit rows stay); the batch ZIP is
        rebuilt without it."""
        job = self.store.get(job_id)
        if job and job["output"]:
            out = Path(job["output"])
            hashes = [content_hash(out)] if out.is_file() else []
            self.audit.record("delete", actor, batch=job["batch"], job_id=job_id, files=[out.name], hashes=hashes)
            out.unlink(missing_ok=True)
        self.store.delete(job_id)
        if job:
            self._rezip(job["batch"])

    def _rezip(self, batch_name: str) -> None:
        folder = self.settings.outputs_dir / batch_name
        if not zip_path_for(folder).is_file():
            return
        rows = self.store.batch_rows(batch_name)
        done = [ItemResult(r["audio"], r["template"], "done", Path(r["output"])) for r in rows
                if r["status"] == "done" and r["output"] and Path(r["output"]).is_file()]
        if done:
            self.zip_batch(BatchResult(folder=folder, items=done))
        else:
            zip_path_for(folder).unlink(missing_ok=True)

    def zip_batch(self, batch: BatchResult) -> Path:
        """A ZIP of the batch's finished videos and manifest (written next to them)."""
        with atomic_path(batch.zip_path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            for item in batch.done:
                z.write(item.output, item.output.name)
            if batch.manifest.exists():
                z.write(batch.manifest, "manifest.json")
        return batch.zip_path

    def record_download(self, path: Path, actor: Actor | None = None) -> None:
        """An audit row for a video or ZIP handed out (the web page hands out Gradio's copies: their
        batch is not known from the path, their content hash is the same)."""
        mine = path.resolve().parent.parent == self.settings.outputs_dir.resolve()
        hashes = [content_hash(path)] if path.is_file() else []
        self.audit.record("download", actor, batch=path.parent.name if mine else None, files=[path.name],
                          hashes=hashes)

    def resolve_output(self, batch: str, name: str) -> Path | None:
        """The produced file ``outputs/<batch>/<name>``, only if the history says the app made it."""
        root = self.settings.outputs_dir.resolve()
        path = (root / batch / name).resolve()
        if path.parent.parent != root or not path.is_file():
            return None
        return path if self.store.by_output(self.settings.outputs_dir / batch / name) else None

    def resolve_zip(self, batch: str) -> Path | None:
        """The ZIP the app made for ``outputs/<batch>``, if there is one."""
        folder = self.resolve_batch(batch)
        path = zip_path_for(folder) if folder else None
        return path if path and path.is_file() else None
