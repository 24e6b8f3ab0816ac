"""The Gradio web UI: Batch, Single, Templates, History and Logs tabs (a thin shell over the Studio)."""
from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr
import pandas as pd

from .engines import specs
from .errors import LipsyncError
from .logs import LOG_FILE
from .service import BatchResult, ItemResult
from .studio import Studio

log = logging.getLogger("lipsync.ui")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
GPU = "gpu"  # one concurrency id for every event that generates: they run one at a time
# what the file pickers offer; the content decides in the end (a renamed file gets a clear message)
TEMPLATE_TYPES = [".mp4", ".mov", ".avi", ".mkv", ".webm", ".flv", ".m4v", ".jpg", ".jpeg", ".png", ".webp"]


def _engine_choices() -> list[tuple[str, str]]:
    return [(s.label, s.name) for s in specs()]


def _engine_note(name: str) -> str:
    spec = next((s for s in specs() if s.name == name), None)
    return f"{spec.description}  \n*Licence: {spec.licence}*" if spec else ""


def _status_rows(items: tuple[ItemResult, ...] | list[ItemResult], current: int | None, stage: str) -> pd.DataFrame:
    rows = []
    for n, it in enumerate(items):
        status = stage if it.status == "running" and n == current else it.status  # e.g. "lip-syncing"
        detail = it.error or (it.output.name if it.output else "")
        if it.result and it.result.warnings:
            detail += " (" + " ".join(it.result.warnings) + ")"
        rows.append([n + 1, it.template, it.audio, status, detail])
    return pd.DataFrame(rows, columns=["#", "template", "audio", "status", "details"])


def build_ui(studio: Studio) -> gr.Blocks:
    """All tabs; every generating event shares one queue slot (concurrency_id)."""
    service = studio.service

    def library_choices():
        return [(service.library_label(p), str(p)) for p in service.library()]

    def wait_for(ticket, on_update):
        """Yield UI updates while the job waits in the queue and runs."""
        while not ticket.wait(0.5):
            yield on_update(ticket)
        yield on_update(ticket)

    # -- Batch -----------------------------------------------------------------------------------
    def run_batch(audio, files, picked, engine):
        if not audio:
            raise gr.Error("Please add an audio recording first.")
        uploads = [Path(f) for f in (files or [])]
        picks = [Path(p) for p in (picked or [])]
        if not uploads and not picks:
            raise gr.Error("Please add at least one template video or photo (or pick one from the library).")
        a = studio.keep_upload(audio)
        names = {str(a): Path(audio).name}
        templates = []
        for up in uploads:
            kept = studio.keep_upload(up)
            names[str(kept)] = up.name
            templates.append(kept)
        for p in picks:
            names[str(p)] = service.library_label(p)
            templates.append(p)
        ticket = studio.submit_batch([a], templates, studio.options(engine), names)
        total = len(templates)

        def update(t):
            p = t.progress
            if t.state == "queued" or p is None:
                pos = studio.runner.position(t)
                return (f"Waiting in the queue (position {pos})…" if pos > 1 else "Starting…",
                        _status_rows([ItemResult(names[str(a)], names[str(x)]) for x in templates], None, ""),
                        [], [])
            items = p.items
            if isinstance(t.result, BatchResult):
                items = t.result.items
            done = [i for i in items if i.status == "done"]
            failed = [i for i in items if i.status == "failed"]
            finished = len(done) + len(failed)
            if t.is_finished:
                head = f"**Finished: {len(done)} / {total} done**" + (f", {len(failed)} failed" if failed else "")
            else:
                head = f"**{finished} / {total}** finished — item {p.item + 1}: {p.message}"
            files_out = [str(i.output) for i in done]
            if isinstance(t.result, BatchResult) and done:
                files_out.append(str(t.result.zip_path))
            if t.state == "failed":
                head = f"**The batch stopped unexpectedly:** {t.error}"
            return head, _status_rows(items, p.item, p.stage), [str(i.output) for i in done], files_out

        yield from wait_for(ticket, update)

    # -- Single ----------------------------------------------------------------------------------
    def run_single(audio, template, engine):
        if not audio or not template:
            raise gr.Error("Please add an audio recording and a template video or photo.")
        a, t = studio.keep_upload(audio), studio.keep_upload(template)
        ticket = studio.submit_batch([a], [t], studio.options(engine),
                                     {str(a): Path(audio).name, str(t): Path(template).name}, kind="single")

        def update(tk):
            if tk.state == "queued":
                return f"Waiting in the queue (position {studio.runner.position(tk)})…", None, None
            if not tk.is_finished:
                p = tk.progress
                return (f"{p.message} ({p.fraction:.0%})" if p else "Starting…"), None, None
            if tk.state == "failed":
                return f"**Failed:** {tk.error}", None, None
            item = tk.result.items[0]
            if item.status != "done":
                return f"**Failed:** {item.error}", None, None
            return f"**Done** in {item.seconds:.1f} s: {item.output.name}", str(item.output), str(item.output)

        yield from wait_for(ticket, update)

    # -- Templates -------------------------------------------------------------------------------
    def check_template(template):
        if not template:
            raise gr.Error("Please upload a template video or photo to check.")
        try:
            report = service.check_template(template, Path(template).name)
        except LipsyncError as e:  # shown to the user, never a traceback
            return f"### NOT USABLE: {e}", {}
        except Exception as e:
            log.exception("template check failed")
            return f"### NOT USABLE: could not check '{Path(template).name}': {type(e).__name__}: {e}", {}
        return report.to_markdown(), report.to_dict()

    def add_to_library(template):
        if not template:
            raise gr.Error("Upload a template first.")
        kept = service.add_to_library(template, Path(template).name)
        gr.Info(f"Added {service.library_label(kept)} to the library.")
        return gr.update(choices=library_choices()), gr.update(value=library_table())

    def library_table():
        return pd.DataFrame([[service.library_label(p), f"{p.stat().st_size / 1e6:.1f} MB"] for p in service.library()],
                            columns=["template", "size"])

    # -- History ---------------------------------------------------------------------------------
    def history(status, since, until, page):
        page = max(1, int(page or 1))
        df = studio.store.history(status=status, since=since or None, until=until or None,
                                  limit=25, offset=(page - 1) * 25)
        return df

    def pick_job(df: pd.DataFrame, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        job = df.iloc[row]
        out = job["output"] if isinstance(job["output"], str) and Path(job["output"]).is_file() else None
        return job["id"], out, out

    def delete_job(job_id, status, since, until, page):
        if job_id:
            job = studio.store.get(job_id)
            if job and job["output"]:
                Path(job["output"]).unlink(missing_ok=True)
            studio.store.delete(job_id)
        return "", None, None, history(status, since, until, page)

    def resume(batch):
        if not batch:
            raise gr.Error("Choose an interrupted batch first.")
        ticket = studio.resume(batch)

        def update(t):
            if t.state == "queued":
                return f"Waiting in the queue (position {studio.runner.position(t)})…"
            if not t.is_finished:
                p = t.progress
                return f"Resuming {batch}: item {p.item + 1} / {p.n_items}: {p.message}" if p else "Starting…"
            if t.state == "failed":
                return f"**Could not resume:** {t.error}"
            b = t.result
            return f"**Resumed {batch}: {len(b.done)} / {len(b.items)} done**" + \
                (f", {len(b.failed)} failed" if b.failed else "")

        yield from wait_for(ticket, update)

    def resumable_choices():
        return gr.update(choices=studio.store.resumable_batches(), value=None)

    # -- Logs ------------------------------------------------------------------------------------
    log_path = studio.settings.data_dir / "logs" / LOG_FILE

    def tail_log(lines: int = 200) -> str:
        if not log_path.is_file():
            return ""
        with open(log_path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 64_000))
            return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])

    engine_default = studio.settings.engine
    with gr.Blocks(title="Lip-sync studio", analytics_enabled=False) as demo:
        gr.Markdown("# Lip-sync studio\nOne audio recording + template videos of a person → videos where the "
                    "mouth follows the new audio. Everything stays on this computer.")
        with gr.Tab("Batch", id="batch"):
            with gr.Row():
                with gr.Column():
                    b_audio = gr.Audio(type="filepath", label="1. Audio recording", sources=["upload"],
                                       elem_id="batch-audio")
                    b_files = gr.File(file_count="multiple", label="2. Template videos or photos (drag and drop)",
                                      file_types=TEMPLATE_TYPES, elem_id="batch-templates")
                    b_lib = gr.Dropdown(choices=library_choices(), multiselect=True,
                                        label="…or templates from the library", value=[])
                    b_engine = gr.Radio(_engine_choices(), value=engine_default, label="3. Engine")
                    b_note = gr.Markdown(_engine_note(engine_default))
                    b_start = gr.Button("Start batch", variant="primary")
                    gr.Examples([[str(EXAMPLES / "demo_speech.wav"), [str(EXAMPLES / "demo_face.png")]]],
                                inputs=[b_audio, b_files], label="Demo")
                with gr.Column():
                    b_overall = gr.Markdown("Add an audio and templates, then press **Start batch**.")
                    b_table = gr.Dataframe(headers=["#", "template", "audio", "status", "details"],
                                           label="Items", interactive=False, wrap=True)
                    b_gallery = gr.Gallery(label="Finished videos", columns=2, height="auto")
                    b_downloads = gr.File(label="Downloads (each video, and all as ZIP)", file_count="multiple",
                                          interactive=False)
            b_engine.change(_engine_note, b_engine, b_note, api_name=False)
            b_start.click(run_batch, [b_audio, b_files, b_lib, b_engine], [b_overall, b_table, b_gallery, b_downloads],
                          api_name="batch", concurrency_limit=1, concurrency_id=GPU)
        with gr.Tab("Single", id="single"):
            with gr.Row():
                with gr.Column():
                    s_audio = gr.Audio(type="filepath", label="Audio recording", sources=["upload"])
                    s_template = gr.File(label="Template video or photo", file_types=TEMPLATE_TYPES)
                    s_engine = gr.Radio(_engine_choices(), value=engine_default, label="Engine")
                    s_note = gr.Markdown(_engine_note(engine_default))
                    s_start = gr.Button("Generate", variant="primary")
                    gr.Examples([[str(EXAMPLES / "demo_speech.wav"), str(EXAMPLES / "demo_face.png")]],
                                inputs=[s_audio, s_template], label="Demo")
                with gr.Column():
                    s_status = gr.Markdown()
                    s_video = gr.Video(label="Result", interactive=False)
                    s_file = gr.File(label="Download", interactive=False)
            s_engine.change(_engine_note, s_engine, s_note, api_name=False)
            s_start.click(run_single, [s_audio, s_template, s_engine], [s_status, s_video, s_file],
                          api_name="single", concurrency_limit=1, concurrency_id=GPU)
        with gr.Tab("Templates", id="templates"):
            gr.Markdown("Quick evaluation of a new template video: upload it and get a report in seconds.")
            with gr.Row():
                with gr.Column():
                    t_file = gr.File(label="Template video or photo", file_types=TEMPLATE_TYPES,
                                     elem_id="template-file")
                    t_check = gr.Button("Check template", variant="primary")
                    t_add = gr.Button("Add to library")
                    t_lib = gr.Dataframe(value=library_table(), label="Library", interactive=False)
                with gr.Column():
                    t_report = gr.Markdown()
                    t_json = gr.JSON(label="Details", visible=False)
            t_check.click(check_template, t_file, [t_report, t_json], api_name="check_template",
                          concurrency_limit=1, concurrency_id=GPU)
            t_add.click(add_to_library, t_file, [b_lib, t_lib], api_name=False)
        with gr.Tab("History", id="history"):
            with gr.Row():
                h_status = gr.Dropdown(["all", "done", "failed", "running", "queued", "interrupted"], value="all",
                                       label="Status")
                h_since = gr.Textbox(label="From (YYYY-MM-DD)")
                h_until = gr.Textbox(label="To (YYYY-MM-DD)")
                h_page = gr.Number(value=1, precision=0, minimum=1, label="Page")
                h_refresh = gr.Button("Refresh")
            h_table = gr.Dataframe(value=history("all", "", "", 1), interactive=False, wrap=True,
                                   label="Jobs (newest first); click a row to play it", elem_id="history-table")
            with gr.Row():
                h_job = gr.Textbox(label="Selected job", interactive=False)
                h_delete = gr.Button("Delete selected output", variant="stop")
            with gr.Row():
                h_video = gr.Video(label="Output", interactive=False)
                h_file = gr.File(label="Download", interactive=False)
            with gr.Row():
                h_batches = gr.Dropdown(choices=studio.store.resumable_batches(), label="Interrupted batches",
                                        elem_id="resumable", allow_custom_value=True)
                h_resume = gr.Button("Resume batch (skips finished videos)")
            h_resume_status = gr.Markdown()
            h_inputs = [h_status, h_since, h_until, h_page]
            h_resume.click(resume, h_batches, h_resume_status, api_name="resume", concurrency_limit=1,
                           concurrency_id=GPU).then(resumable_choices, None, h_batches, api_name=False).then(
                history, h_inputs, h_table, api_name=False)
            h_refresh.click(history, h_inputs, h_table, api_name="history").then(
                resumable_choices, None, h_batches, api_name=False)
            for comp in (h_status, h_page):
                comp.change(history, h_inputs, h_table, api_name=False)
            h_table.select(pick_job, h_table, [h_job, h_video, h_file], api_name=False)
            h_delete.click(delete_job, [h_job, *h_inputs], [h_job, h_video, h_file, h_table], api_name=False)
        with gr.Tab("Logs", id="logs"):
            l_box = gr.Textbox(value=tail_log, label="Application log (live)", lines=25, max_lines=25,
                               autoscroll=True, interactive=False)
            gr.Timer(2.0).tick(tail_log, None, l_box, api_name=False)
        b_start.click(lambda *a: history("all", "", "", 1), None, h_table, api_name=False)
    return demo
