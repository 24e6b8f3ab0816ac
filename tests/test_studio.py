"""The one studio API: plans stored with their options, the CLI in the same history, the template check
on the same runner as the jobs, the audio decoded once per batch, native notices kept off the terminal."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from conftest import EXAMPLES, ROOT, shared

from lipsync import JobOptions, Settings, Studio


@pytest.fixture()
def studio(tmp_path):
    return Studio(Settings(outputs_dir=tmp_path / "out", data_dir=tmp_path / "data"))


def test_plan_is_recorded_with_its_options_and_resume_keeps_them(studio, burst_audio):
    batch = studio.plan([burst_audio[0]], [EXAMPLES / "demo_face.png"], JobOptions(crf=23, still_fps=12))
    rows = studio.store.batch_rows(batch.folder.name)
    assert [r["status"] for r in rows] == ["queued"]
    assert json.loads(rows[0]["options"])["crf"] == 23 and json.loads(rows[0]["options"])["engine"] == "builtin"
    studio.store.mark_unfinished_interrupted()  # as if the app died before running it
    resumed = studio.resume_now(batch.folder.name)
    assert resumed.options.crf == 23 and resumed.options.still_fps == 12
    assert resumed.items[0].status == "done" and resumed.items[0].result.fps == 12


def test_unknown_engine_is_refused_before_anything_is_recorded(studio):
    from lipsync import EngineError

    with pytest.raises(EngineError, match="Unknown engine 'nope'.*builtin"):
        studio.options("nope")
    assert studio.history().empty


def test_batch_decodes_its_audio_once(studio, burst_audio):
    photo = EXAMPLES / "demo_face.png"
    batch = studio.generate_batch([burst_audio[0]], [photo, shared("p3_sadtalker_people0.png")])
    assert [i.status for i in batch.items] == ["done", "done"]
    assert studio.runtime.audio_cache.decodes == 1


def test_template_check_waits_on_the_same_runner_as_jobs(studio):
    release = threading.Event()
    blocker = studio.runner.submit("batch", lambda _t: release.wait(30))
    check = studio.check_template(EXAMPLES / "demo_face.png", "demo_face.png")
    assert studio.runner.position(check) == 2 and not check.wait(0.5)  # behind the running job
    release.set()
    assert blocker.wait(30) and check.wait(60)
    assert check.state == "done" and check.result.name == "demo_face.png" and check.result.is_photo


def test_cli_writes_into_the_same_history_and_keeps_native_notices_off_the_terminal(tmp_path, burst_audio):
    env = {**os.environ, "LIPSYNC_DATA": str(tmp_path / "data"), "LIPSYNC_OUTPUTS": str(tmp_path / "out")}
    env.pop("LIPSYNC_DEBUG_NATIVE", None)
    proc = subprocess.run([sys.executable, "-m", "lipsync", "-q", "-a", str(burst_audio[0]), "-v",
                           str(EXAMPLES / "demo_face.png")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "XNNPACK" not in proc.stderr and "inference_feedback_manager" not in proc.stderr
    history = Studio(Settings(outputs_dir=tmp_path / "out", data_dir=tmp_path / "data")).history()
    assert list(history["status"]) == ["done"] and list(history["template"]) == ["demo_face.png"]


def test_library_keeps_only_usable_templates_and_can_rename_and_remove(studio, tmp_path):
    import cv2
    import numpy as np

    from lipsync import LipsyncError

    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), np.full((256, 256, 3), 180, np.uint8))
    with pytest.raises(LipsyncError, match="no face"):
        studio.add_to_library(wall, "wall.png")
    assert studio.library() == []
    kept, report = studio.add_to_library(EXAMPLES / "demo_face.png", "Dr Wang.png")
    assert report.verdict in ("good", "usable") and studio.library_label(kept) == "Dr_Wang.png"
    renamed = studio.rename_in_library(kept, "Dr Li")
    assert [studio.library_label(p) for p in studio.library()] == ["Dr_Li.png"]
    with pytest.raises(LipsyncError, match="not in the template library"):
        studio.remove_from_library(EXAMPLES / "demo_face.png")  # only library entries, nothing else
    studio.remove_from_library(renamed)
    assert studio.library() == [] and (EXAMPLES / "demo_face.png").is_file()


def test_uploads_are_kept_under_their_owners_names_and_library_templates_used_in_place(studio, tmp_path):
    """Every front end hands its files to ``submit_uploads``: uploads are copied (the browser's or the
    request's temporary file may vanish), named as the nurse named them; library templates are not copied."""
    from lipsync.uploads import Upload

    temp = tmp_path / "gradio-tmp-123.wav"
    temp.write_bytes((EXAMPLES / "demo_speech.wav").read_bytes())
    in_library, _ = studio.add_to_library(EXAMPLES / "demo_face.png", "王医生.png")
    ticket = studio.submit_uploads(Upload(temp, "宣教录音.wav"), [Upload.of(EXAMPLES / "demo_face.png"), in_library])
    temp.unlink()  # the caller's temporary copy is gone at once; the job must not need it
    assert ticket.wait(300) and ticket.state == "done"
    rows = studio.history()
    assert sorted(rows["template"]) == ["demo_face.png", "王医生.png"] and set(rows["audio"]) == {"宣教录音.wav"}
    assert set(rows["status"]) == {"done"}
    kept = sorted(p.name for p in studio.uploads_dir.rglob("*") if p.is_file())
    assert kept == ["demo_face.png", "宣教录音.wav"]  # the library template was not copied again


def test_a_full_disk_refuses_uploads_before_copying_them(tmp_path):
    from lipsync.errors import OutputError
    from lipsync.uploads import Upload

    # the threshold is above this disk's real free space (no faked reading)
    studio = Studio(Settings(outputs_dir=tmp_path / "out", data_dir=tmp_path / "data", min_free_gb=10 ** 7))
    with pytest.raises(OutputError):
        studio.submit_uploads(Upload.of(EXAMPLES / "demo_speech.wav"), [Upload.of(EXAMPLES / "demo_face.png")])
    assert not studio.uploads_dir.exists() and studio.history().empty


def test_a_batch_shown_on_the_page_drops_a_video_deleted_meanwhile(studio):
    """The Batch tab keeps showing a finished batch; a video deleted in History meanwhile is no longer
    offered there (the page's file list used to name the missing file, and every refresh failed)."""
    from lipsync.ui.common import batch_outputs

    ticket = studio.submit([EXAMPLES / "demo_speech.wav"], [EXAMPLES / "demo_face.png"] * 2)
    assert ticket.wait(300) and ticket.state == "done"
    first, second = ticket.result.items
    studio.delete(first.job_id)
    assert not first.output.is_file()
    _, _, videos, downloads, _ = batch_outputs(studio.view(ticket), "zh")
    assert [v for v, _ in videos] == [str(second.output)]
    assert str(first.output) not in downloads and str(second.output) in downloads
