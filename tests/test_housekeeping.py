"""Issue 15: disk space, retention and the audit log, with real files and a real SQLite history."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from conftest import EXAMPLES, ROOT

from lipsync import Settings, Studio
from lipsync.errors import OutputError
from lipsync.jobs.audit import Actor
from lipsync.storage import folder_size
from lipsync.uploads import Upload

pytestmark = pytest.mark.slow
HEX64 = 64


def test_a_nearly_full_disk_refuses_new_batches_before_any_work(tmp_path):
    # the threshold is set above the real free space of this disk (no faked reading)
    studio = Studio(Settings(outputs_dir=tmp_path / "out", data_dir=tmp_path / "data", min_free_gb=10 ** 7))
    space = studio.storage()
    assert space.low and space.warn and "GB" in space.text("en") and "磁盘" in space.text("zh")
    with pytest.raises(OutputError) as refused:
        studio.submit([EXAMPLES / "demo_speech.wav"], [EXAMPLES / "demo_face.png"])
    assert refused.value.code == "err.disk_low" and "GB" in refused.value.text("zh")
    assert studio.history().empty and list((tmp_path / "out").iterdir()) == []  # nothing recorded or made
    env = {**os.environ, "LIPSYNC_DATA": str(tmp_path / "data"), "LIPSYNC_OUTPUTS": str(tmp_path / "out"),
           "LIPSYNC_MIN_FREE_GB": str(10 ** 7), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    cli = subprocess.run([sys.executable, "-m", "lipsync", "-q", "-a", str(EXAMPLES / "demo_speech.wav"),
                          "-v", str(EXAMPLES / "demo_face.png")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert cli.returncode == 2 and "Not started: only" in cli.stderr


def test_the_storage_line_counts_what_the_folders_hold(tmp_path):
    studio = Studio(Settings(outputs_dir=tmp_path / "out", data_dir=tmp_path / "data", min_free_gb=0))
    item = studio.generate(EXAMPLES / "demo_speech.wav", EXAMPLES / "demo_face.png")
    space = studio.storage()
    assert space.outputs == folder_size(tmp_path / "out") >= item.output.stat().st_size
    assert space.caches > 0 and space.free > 0 and not space.low


def _age_batch(db, batch: str, days: int) -> None:
    """Date a batch's rows back (the history is where retention reads a batch's age)."""
    old = (datetime.now() - timedelta(days=days)).isoformat(timespec="seconds")
    with sqlite3.connect(db) as c:
        c.execute("UPDATE jobs SET created = ? WHERE batch = ?", (old, batch))


def test_retention_archives_exactly_the_old_batches_and_drops_what_nobody_needs(tmp_path):
    archive = tmp_path / "archive"
    settings = Settings(outputs_dir=tmp_path / "out", data_dir=tmp_path / "data", min_free_gb=0, keep_days=30,
                        archive_dir=archive)
    studio = Studio(settings)
    tickets = []
    for _ in range(2):  # two batches through the web path: the inputs are kept uploads
        tickets.append(studio.submit_uploads(Upload.of(EXAMPLES / "demo_speech.wav", "speech.wav"),
                                             [Upload.of(EXAMPLES / "demo_face.png", "face.png")]))
        assert tickets[-1].wait(300) and tickets[-1].state == "done"
        time.sleep(1.1)  # the next batch gets its own folder name
    old, new = (t.result for t in tickets)
    _age_batch(settings.data_dir / "jobs.sqlite3", old.folder.name, 100)
    long_ago = time.time() - 40 * 86400
    for path in (settings.data_dir / "uploads").rglob("*"):
        os.utime(path, (long_ago, long_ago))  # uploaded long ago
    stale = settings.cache_dir / "faces" / "stale.npz"
    stale.write_bytes(b"x")
    os.utime(stale, (long_ago, long_ago))

    swept = studio.housekeep()
    assert swept.archived == [old.folder.name] and swept.deleted == []
    assert not old.folder.exists() and (archive / old.folder.name / "manifest.json").is_file()
    assert new.folder.is_dir() and new.items[0].output.is_file()
    rows = studio.store.batch_rows(old.folder.name)
    assert rows[0]["archived"] == "archived" and os.path.isfile(rows[0]["output"])  # archived, not missing
    # the old batch's inputs are gone; the new batch's stay (it may be made again)
    assert not os.path.exists(rows[0]["audio_path"])
    assert os.path.exists(studio.store.batch_rows(new.folder.name)[0]["template_path"])
    assert not stale.exists() and any((settings.cache_dir / "faces").glob("*.npz"))  # used ones stay
    assert [r for r in studio.audit.rows()["event"] if r == "archive"] == ["archive"]
    assert studio.housekeep().archived == []  # a second pass has nothing left to do


def test_a_days_story_is_in_the_audit_log_after_a_restart(tmp_path):
    settings = Settings(outputs_dir=tmp_path / "out", data_dir=tmp_path / "data", min_free_gb=0)
    studio = Studio(settings)
    nurse, reviewer = Actor("nurse", "10.0.0.5"), Actor("dr_li", "10.0.0.9")
    ticket = studio.submit([EXAMPLES / "demo_speech.wav"], [EXAMPLES / "demo_face.png"], actor=nurse)
    assert ticket.wait(300) and ticket.state == "done"
    item = ticket.result.items[0]
    studio.review(item.job_id, "approved", "ok", reviewer.user, reviewer.client)
    studio.record_download(item.output, reviewer)
    studio.delete(item.job_id, nurse)
    assert not item.output.exists()

    rows = Studio(settings).audit.rows()  # after a restart
    story = rows.to_dict(orient="records")
    assert [r["event"] for r in story] == ["submit", "finish", "review", "download", "delete"]
    submit, finish, review, download, delete = story
    assert (submit["user"], submit["client"]) == ("nurse", "10.0.0.5") and "demo_face.png" in submit["files"]
    assert all(len(h) == HEX64 for h in __import__("json").loads(submit["hashes"]))
    assert item.output.name in finish["files"] and len(__import__("json").loads(finish["hashes"])[0]) == HEX64
    assert review["user"] == "dr_li" and review["detail"] == "approved: ok"
    assert download["hashes"] == finish["hashes"] == delete["hashes"]  # the same file all day
    csv = Studio(settings).audit.export_csv(tmp_path / "audit.csv")
    assert csv.read_text(encoding="utf-8-sig").count("\n") == 6
