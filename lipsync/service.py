"""The one API the web UI, the HTTP API and the CLI call: generate one video or a batch."""
from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

from .audio import AudioTrack, load_audio
from .config import JobOptions, Settings
from .engines import EngineRegistry, specs
from .errors import LipsyncError, OutputError
from .face import FaceCache, content_hash
from .files import atomic_path
from .jobs.store import JobStore
from .naming import new_batch_dir, output_name, safe_stem
from .pipeline import JobResult, Progress, analyse, probe_template, run_job
from .report import TemplateReport, evaluate

log = logging.getLogger("lipsync.service")


@dataclass
class ItemResult:
    """One (audio, template) item of a batch."""

    audio: str
    template: str
    status: str = "waiting"          #: waiting, running, done, failed
    output: Path | None = None
    error: str | None = None
    seconds: float = 0.0
    result: JobResult | None = None
    job_id: str | None = None
    audio_path: Path = Path()
    template_path: Path = Path()
    planned: Path = Path()  #: where the output is written when the item succeeds

    def to_json(self, folder: Path | None = None) -> dict:
        out = {"job_id": self.job_id, "audio": self.audio, "template": self.template, "status": self.status,
               "output": (self.output.name if folder and self.output else str(self.output or "")) or None,
               "error": self.error, "seconds": round(self.seconds, 2)}
        if self.result:
            r = asdict(self.result)
            r.pop("output")
            out.update({k: r[k] for k in ("duration", "fps", "width", "height", "frames",
                                         "frames_without_face", "engine", "mode", "warnings", "timings")})
        return out


def zip_path_for(folder: Path) -> Path:
    """The ZIP of a batch folder's videos."""
    return folder / f"{folder.name}.zip"


@dataclass
class BatchResult:
    """All items of a batch, its folder and manifest."""

    folder: Path
    items: list[ItemResult] = field(default_factory=list)
    engine: str = ""

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


class LipsyncService:
    """Keeps engines loaded and the face cache warm; runs jobs one after the other.

    ``generate`` and ``generate_batch`` are not meant to run concurrently on one service (the
    app queues them); the caches they share are thread-safe.
    """

    def __init__(self, settings: Settings | None = None, store: JobStore | None = None):
        self.settings = settings or Settings()
        self.engines = EngineRegistry(self.settings)
        self.face_cache = FaceCache(self.settings.cache_dir / "faces")
        #: job history; every item is recorded there before work starts (None = no history)
        self.store = store

    # -- templates -------------------------------------------------------------------------------
    def check_template(self, path: str | Path, name: str | None = None) -> TemplateReport:
        """Quick evaluation of a template (its face analysis is cached for later jobs)."""
        info = probe_template(Path(path))
        track = analyse(info, JobOptions(), self.face_cache)
        report = evaluate(info, track)
        if name:
            report.name = name
        return report

    @property
    def library_dir(self) -> Path:
        return self.settings.data_dir / "library"

    def add_to_library(self, path: str | Path, name: str | None = None) -> Path:
        """Keep a template in the library (by content: the same video is stored once)."""
        path = Path(path)
        name = name or path.name
        digest = content_hash(path)[:12]
        self.library_dir.mkdir(parents=True, exist_ok=True)
        for existing in self.library_dir.glob(f"{digest}__*"):
            return existing
        suffix = Path(name).suffix.lower() if Path(name).suffix else path.suffix
        target = self.library_dir / f"{digest}__{safe_stem(name)}{suffix}"
        with atomic_path(target) as tmp:
            shutil.copyfile(path, tmp)
        return target

    def library(self) -> list[Path]:
        """Templates kept in the library, newest first."""
        if not self.library_dir.is_dir():
            return []
        files = [p for p in self.library_dir.iterdir() if p.is_file() and not p.name.startswith(".")]
        return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)

    @staticmethod
    def library_label(path: Path) -> str:
        """The name a library file is shown by (without its content-hash prefix)."""
        return path.name.split("__", 1)[-1]

    @staticmethod
    def engine_specs():
        """The engines users can choose from, with their labels and licences."""
        return specs()

    def generate(self, audio: str | Path, template: str | Path, options: JobOptions | None = None,
                 progress: BatchProgressFn | None = None, folder: Path | None = None) -> ItemResult:
        """One audio + one template -> one video (in a new batch folder unless ``folder`` is given)."""
        return self.generate_batch([audio], [template], options, progress, folder).items[0]

    def generate_batch(self, audios: Sequence[str | Path], templates: Sequence[str | Path],
                       options: JobOptions | None = None, progress: BatchProgressFn | None = None,
                       folder: Path | None = None, names: dict[str, str] | None = None) -> BatchResult:
        """Every audio x every template. One item failing never stops the others.

        ``names`` maps an input path to the name the user knows it by (uploads get temporary paths).
        Every item is recorded (history) before work starts; the manifest is rewritten after every
        item, so whatever finished is recorded.
        """
        options = options or JobOptions()
        engine_name = options.engine or self.settings.engine
        names = names or {}
        label = lambda p: names.get(str(p), Path(p).name)  # noqa: E731
        try:
            folder = self._batch_folder(folder)
        except OutputError as e:  # every item fails with the reason; the caller (and the app) go on
            batch = BatchResult(folder=Path(folder or self.settings.outputs_dir), engine=engine_name)
            batch.items = [ItemResult(audio=label(a), template=label(t), status="failed", error=str(e))
                           for a in audios for t in templates]
            log.error("batch not started: %s", e)
            return batch
        batch = BatchResult(folder=folder, engine=engine_name)
        taken: set[str] = set()
        for a in audios:
            for t in templates:
                out = folder / output_name(label(t), label(a), taken)
                item = ItemResult(audio=label(a), template=label(t), audio_path=Path(a), template_path=Path(t),
                                  planned=out)
                if self.store:
                    item.job_id = self.store.add(folder.name, item.audio, item.template, engine_name,
                                                 audio_path=str(a), template_path=str(t), output=str(out))
                batch.items.append(item)
        return self._run(batch, options, progress)

    def resume_batch(self, batch_name: str, progress: BatchProgressFn | None = None) -> BatchResult:
        """Run again every item of a recorded batch that is not done (interrupted, queued, failed),
        into the same folder; finished items are kept as they are."""
        if not self.store:
            raise LipsyncError("Resuming needs the job history.")
        rows = self.store.batch_rows(batch_name)
        if not rows:
            raise LipsyncError(f"No batch '{batch_name}' in the history.")
        folder = self.settings.outputs_dir / batch_name
        folder.mkdir(parents=True, exist_ok=True)
        batch = BatchResult(folder=folder, engine=rows[0]["engine"])
        for row in rows:
            out = Path(row["output"]) if row["output"] else None
            done = row["status"] == "done" and out is not None and out.is_file()
            batch.items.append(ItemResult(
                audio=row["audio"], template=row["template"], status="done" if done else "waiting",
                output=out if done else None, error=None, seconds=row["seconds"] or 0.0, job_id=row["id"],
                audio_path=Path(row["audio_path"] or ""), template_path=Path(row["template_path"] or ""),
                planned=out))
        for item in batch.items:
            if item.status != "done":
                self._record(item, status="queued", error=None)
        return self._run(batch, JobOptions(engine=batch.engine), progress)

    def _batch_folder(self, folder: Path | None) -> Path:
        try:
            folder = Path(folder) if folder else new_batch_dir(self.settings.outputs_dir)
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"Cannot create the output folder '{folder or self.settings.outputs_dir}': "
                              f"{e.strerror or e}.") from e
        return folder

    def _run(self, batch: BatchResult, options: JobOptions, progress: BatchProgressFn | None) -> BatchResult:
        """Run the batch's items that are not done yet, in order."""
        engine_name = options.engine or self.settings.engine
        self._write_manifest(batch)
        audio_cache: dict[str, AudioTrack | LipsyncError] = {}
        for n, item in enumerate(batch.items):
            if item.status == "done":
                continue
            report = self._reporter(progress, n, len(batch.items), batch)
            item.status, item.error = "running", None
            self._record(item, status="running", started=time.time())
            report(Progress("checking", 0.0, f"Starting {item.template}"))
            t0 = time.perf_counter()
            try:
                track = audio_cache.get(str(item.audio_path))
                if track is None:
                    try:
                        track = load_audio(item.audio_path, self.settings.max_audio_seconds)
                    except LipsyncError as e:
                        track = e
                    audio_cache = {str(item.audio_path): track}  # the previous audio is freed
                if isinstance(track, LipsyncError):
                    raise track
                if not item.template_path.is_file():
                    raise LipsyncError(f"'{item.template}': the template file is no longer available.")
                engine = self.engines.get(engine_name)
                item.result = run_job(track, item.template_path, item.planned, engine, self.face_cache,
                                      self.settings, options, report)
                item.output, item.status = item.result.output, "done"
            except LipsyncError as e:
                item.status, item.error = "failed", str(e)
                log.warning("item %s + %s failed: %s", item.template, item.audio, e)
            except Exception as e:  # never let one item stop the batch; the log keeps the traceback
                item.status = "failed"
                item.error = f"Unexpected error while making '{item.planned.name}': {type(e).__name__}: {e}"
                log.exception("item %s + %s crashed", item.template, item.audio)
            item.seconds = time.perf_counter() - t0
            self._record(item, status=item.status, seconds=round(item.seconds, 2), error=item.error,
                         finished=time.time())
            self._write_manifest(batch)
            report(Progress("done" if item.status == "done" else "failed", 1.0,
                            item.error or f"Finished {item.planned.name}"))
        log.info("batch %s: %d done, %d failed", batch.folder.name, len(batch.done), len(batch.failed))
        return batch

    def _record(self, item: ItemResult, **fields) -> None:
        if self.store and item.job_id:
            try:
                self.store.update(item.job_id, **fields)
            except Exception:  # history trouble must not fail the video itself
                log.exception("could not record job %s", item.job_id)

    @staticmethod
    def _reporter(progress: BatchProgressFn | None, n: int, total: int, batch: BatchResult):
        def report(p: Progress) -> None:
            if progress:
                progress(BatchProgress(n, total, p.stage, p.fraction, p.message, tuple(batch.items)))
        return report

    @staticmethod
    def _write_manifest(batch: BatchResult) -> None:
        data = {"folder": batch.folder.name, "engine": batch.engine,
                "updated": datetime.now().isoformat(timespec="seconds"),
                "items": [i.to_json(batch.folder) for i in batch.items]}
        with atomic_path(batch.manifest) as tmp:
            tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
