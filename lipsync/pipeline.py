"""One job: inputs -> decode -> face analysis (cached) -> engine -> blend -> encode/mux -> result."""
from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .compose import blend, feather_margin, lower_face_mask
from .config import JobOptions
from .engines.base import Engine, FrameIn, Patch, RenderJob
from .errors import MediaError
from .face import FaceCache, FaceTrack, content_hash
from .frames import iter_template_frames, output_frame_count, pingpong_index
from .i18n import Msg, msg
from .media import MediaInfo, VideoWriter, probe
from .overlap import Sink, prefetch
from .qc import QcMeter, QcReport
from .runtime import Runtime

log = logging.getLogger("lipsync.pipeline")
OVERLAP_FRAMES = 16  # frames decoded ahead and waiting to be encoded: enough to keep each side busy, small in memory


@dataclass(frozen=True)
class Progress:
    """A progress report: stage ("checking", "analysing", "lip-syncing", "encoding", "done"),
    fraction of the current item (0..1) and a message for people (put into words in their language)."""

    stage: str
    fraction: float
    message: Msg = Msg("common.empty")


ProgressFn = Callable[[Progress], None]


def _no_progress(_: Progress) -> None:
    pass


RESULT_FACTS = ("duration", "fps", "width", "height", "frames", "frames_without_face", "engine", "mode",
                "timings", "worker")


@dataclass
class JobResult:
    """What one finished job produced."""

    output: Path
    duration: float
    fps: float
    width: int
    height: int
    frames: int
    frames_without_face: int
    engine: str
    mode: str = ""
    timings: dict = field(default_factory=dict)
    warnings: list[Msg] = field(default_factory=list)
    qc: QcReport | None = None  #: the automatic quality check of the finished video
    worker: str = ""            #: the Celery worker that made it (empty: this process)

    def facts(self) -> dict:
        """The plain fields (not the output path, warnings or check): what the manifest and the worker's
        answer both carry."""
        return {f: getattr(self, f) for f in RESULT_FACTS}

    def to_json(self) -> dict:
        """Plain JSON (what a worker sends back to the app)."""
        return {**self.facts(), "output": str(self.output), "warnings": [w.to_json() for w in self.warnings],
                "qc": self.qc.to_dict() if self.qc else None}

    @classmethod
    def from_json(cls, data: dict) -> "JobResult":
        return cls(**{**data, "output": Path(data["output"]), "warnings": [Msg.from_json(w) for w in data["warnings"]],
                      "qc": QcReport.from_dict(data["qc"]) if data.get("qc") else None})


def qc_sheet_path(output: Path) -> Path:
    """Where the contact sheet of an output goes: ``<batch>/qc/<output name>.jpg``."""
    return output.parent / "qc" / f"{output.stem}.jpg"


def probe_template(path: Path, max_side: int | None = None) -> MediaInfo:
    """Probe a template and check it has a picture (of at most ``max_side`` pixels for videos)."""
    info = probe(path)
    if not info.has_video:
        raise MediaError("err.no_picture", file=info.path.name)
    if max_side and not info.is_image and max(info.width, info.height) > max_side:
        raise MediaError("err.video_too_large", file=info.path.name, size=f"{info.width}x{info.height}",
                         limit=max_side)
    return info


def template_fps(info: MediaInfo, options: JobOptions) -> Fraction:
    """Output frame rate: the template's (constant even when the template's is variable); 25 for photos."""
    if info.is_image:
        return Fraction(options.still_fps).limit_denominator(1001)
    return info.fps


def analyse(info: MediaInfo, options: JobOptions, cache: FaceCache, digest: str | None = None,
            progress: ProgressFn = _no_progress) -> FaceTrack:
    """The template's face track (from cache, or analysed now)."""
    fps = template_fps(info, options)
    est = max(1, int((info.duration or 1) * float(fps)))
    return cache.get(info, fps, digest, progress=lambda i: progress(
        Progress("analysing", min(i / est, 1.0), msg("progress.analysing", frame=i))), face=options.face)


def render_frames(engine: Engine, state, job: RenderJob, spool: Path,
                  progress: ProgressFn = _no_progress) -> Iterator[tuple[FrameIn, np.ndarray, Patch | None]]:
    """Stream (input frame, output frame, patch) for every output frame, in batches through the engine."""
    track = job.track
    batch: list[FrameIn] = []
    frames = iter_template_frames(job.template, job.fps, job.frame_index, spool)
    if job.options.overlap:
        frames = prefetch(frames, OVERLAP_FRAMES)  # the next frames decode while the engine works
    bs = max(1, engine.batch_for(state))  # the engine decides (Wav2Lip: what fits in GPU memory)

    def flush():
        patches = engine.render(state, batch)
        for f, p in zip(batch, patches):
            if p is None:
                yield f, f.image, None
            else:
                roi_mask = lower_face_mask(f.landmarks, p.roi, feather_margin(f.landmarks), p.extra_down)
                yield f, blend(f.image, p.image, p.roi, roi_mask), p
        if batch:
            progress(Progress("lip-syncing", (batch[-1].out_index + 1) / job.n_frames,
                              msg("progress.lipsyncing", frame=batch[-1].out_index + 1, frames=job.n_frames)))
        batch.clear()

    for out_i, (src_i, image) in enumerate(frames):
        lm = track.landmarks[src_i] if track.valid[src_i] else None
        batch.append(FrameIn(out_i, src_i, image, lm))
        if len(batch) >= bs:
            yield from flush()
    yield from flush()


@dataclass(frozen=True)
class JobSpec:
    """Everything that defines one job: its inputs, where the result goes, and its options
    (``options.engine`` already resolved to a name)."""

    audio: Path
    template: Path
    output: Path
    options: JobOptions

    def to_json(self) -> dict:
        return {"audio": str(self.audio), "template": str(self.template), "output": str(self.output),
                "options": asdict(self.options)}

    @classmethod
    def from_json(cls, data: dict) -> "JobSpec":
        return cls(Path(data["audio"]), Path(data["template"]), Path(data["output"]), JobOptions(**data["options"]))


def run_job(spec: JobSpec, runtime: Runtime, progress: ProgressFn = _no_progress) -> JobResult:
    """Make one lip-synced MP4 at ``spec.output`` (written under a temporary name, renamed when
    complete): decode -> face analysis (cached) -> engine -> blend -> encode/mux."""
    t0 = time.perf_counter()
    settings, options, output = runtime.settings, spec.options, spec.output
    progress(Progress("checking", 0.0, msg("progress.checking", file=spec.template.name)))
    audio = runtime.audio_cache.get(spec.audio)
    if not spec.template.is_file():
        raise MediaError("err.template_gone", file=spec.template.name)
    engine = runtime.engines.get(options.engine or settings.engine)
    info = probe_template(spec.template, settings.max_video_side)
    digest = content_hash(info.path)
    fps = template_fps(info, options)
    track = analyse(info, options, runtime.face_cache, digest, progress)
    t_analysis = time.perf_counter()
    n_out = output_frame_count(audio.duration, float(fps))
    frame_index = pingpong_index(track.n_frames, n_out)
    job = RenderJob(template=info, template_digest=digest, track=track, audio=audio, fps=fps,
                    n_frames=n_out, frame_index=frame_index, options=options,
                    cache_dir=settings.cache_dir)
    state = engine.prepare(job)
    missing = 0
    meter = QcMeter(float(fps), n_out) if options.qc else None
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    # the pid in the name lets a restarted app clean only what dead processes left behind
    with tempfile.TemporaryDirectory(dir=settings.work_dir, prefix=f"job-{os.getpid()}-") as work:
        with VideoWriter(output, (track.width, track.height), fps, audio.path, audio.duration,
                         crf=options.crf, preset=options.preset) as writer:
            def write(item: tuple[FrameIn, np.ndarray]) -> None:
                writer.write(item[1])
                if meter:
                    meter.add(item[0].out_index, item[1], item[0].landmarks)

            # the finished frames are encoded (and checked) in order, beside the engine
            sink = Sink(write, OVERLAP_FRAMES) if options.overlap else None
            try:
                for f, frame, _ in render_frames(engine, state, job, Path(work) / "template.raw", progress):
                    missing += f.landmarks is None
                    sink.put((f, frame)) if sink else write((f, frame))
                if sink:
                    sink.close()
            except BaseException:
                if sink:
                    sink.abort()  # the job failed: the encoder thread stops, the error is this one
                if meter:
                    meter.close()
                raise
            progress(Progress("encoding", 1.0, msg("progress.encoding")))
            final = writer.close()
    t_qc = time.perf_counter()
    qc = meter.finish(audio.samples, qc_sheet_path(final)) if meter else None
    qc_s = time.perf_counter() - t_qc  # the per-frame part runs beside the render and is not counted
    t_end = time.perf_counter()
    warnings = []
    if missing:
        warnings.append(msg("warn.frames_without_face", missing=missing, frames=n_out))
    result = JobResult(output=final, duration=audio.duration, fps=float(fps), width=track.width,
                       height=track.height, frames=n_out, frames_without_face=missing,
                       engine=engine.name, mode=getattr(state, "mode", ""),
                       timings={"analysis_s": round(t_analysis - t0, 3), "render_s": round(t_end - t_analysis, 3),
                                "qc_s": round(qc_s, 3)},
                       warnings=warnings, qc=qc)
    progress(Progress("done", 1.0, msg("progress.done", file=final.name)))
    return result
