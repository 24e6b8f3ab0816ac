"""Issue 13: items on real Celery workers through a real redis-server; a worker killed mid-item loses nothing."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT, free_port

from lipsync import Settings, Studio
from lipsync.media import iter_video_frames, probe

pytestmark = pytest.mark.slow
VISIBILITY_S = 12  # a killed worker's job goes to another worker after this long (tests only: short)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("Debian's redis-server is not installed (the README's test command installs it)")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    for _ in range(50):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


def start_worker(url: str, name: str, tmp: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LIPSYNC_DATA": str(tmp / name),
           "LIPSYNC_VISIBILITY_TIMEOUT": str(VISIBILITY_S)}
    log = open(tmp / f"{name}.log", "ab")  # appended: a restarted worker keeps the same log
    return subprocess.Popen([sys.executable, "-m", "lipsync.worker", "--broker", url, "--name", name,
                             "--device", "cpu"], env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def workers(broker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("workers")
    procs = {name: start_worker(broker, name, tmp) for name in ("w1", "w2")}
    yield procs, tmp
    for proc in procs.values():
        proc.kill()
        proc.wait(10)


def _studio(tmp: Path, broker: str | None) -> Studio:
    return Studio(Settings(outputs_dir=tmp / "out", data_dir=tmp / "data", broker_url=broker or "",
                           visibility_timeout=VISIBILITY_S, min_free_gb=0))


def _wait_for_workers(studio: Studio, names: set[str]) -> None:
    for _ in range(120):
        if {w["name"] for w in studio.remote.workers()} >= names:
            return
        time.sleep(0.5)
    raise AssertionError(f"workers {names} did not connect: {studio.remote.workers()}")


def _frames(path: Path) -> np.ndarray:
    info = probe(path)
    return np.stack([f.astype(np.int16) for f in iter_video_frames(info, info.fps)])


def test_a_batch_is_spread_over_two_workers_once_each_and_matches_the_embedded_mode(workers, broker, tmp_path):
    studio = _studio(tmp_path, broker)
    _wait_for_workers(studio, {"w1", "w2"})
    ticket = studio.submit([EXAMPLES / "demo_speech.wav"], [EXAMPLES / "demo_face.png"] * 6)
    assert ticket.wait(300) and ticket.state == "done"
    items = ticket.result.items
    assert [i.status for i in items] == ["done"] * 6
    assert {i.result.worker.split("@")[0] for i in items} == {"w1", "w2"}  # both took part
    finishes = studio.audit.rows().query("event == 'finish'")
    assert sorted(finishes["job_id"]) == sorted(i.job_id for i in items)  # each item recorded exactly once
    assert len(list(ticket.result.folder.glob("*.mp4"))) == 6 and not list(ticket.result.folder.glob(".*"))
    assert all(studio.job(i.job_id)["qc"] for i in items)  # the check travels back with the result
    embedded = _studio(tmp_path / "embedded", None).generate(EXAMPLES / "demo_speech.wav", EXAMPLES / "demo_face.png")
    a, b = _frames(items[0].output), _frames(embedded.output)
    assert a.shape == b.shape and np.abs(a - b).mean() < 0.5  # the same video either way


def test_a_worker_killed_mid_item_loses_nothing(workers, broker, tmp_path):
    procs, tmp = workers
    studio = _studio(tmp_path, broker)
    _wait_for_workers(studio, {"w1", "w2"})
    speech = EXAMPLES / "demo_speech.wav"  # 15 s: an item takes long enough to be killed in the middle
    log = tmp / "w1.log"
    seen = log.read_text(errors="replace").count("received")
    ticket = studio.submit([speech], [EXAMPLES / "demo_face.png"] * 4)
    for _ in range(300):  # wait until w1 has taken an item of this batch
        if log.read_text(errors="replace").count("received") > seen:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("w1 took no item")
    time.sleep(1.0)  # in the middle of it
    os.kill(procs["w1"].pid, signal.SIGKILL)
    killed_at = time.time()
    procs["w1"] = start_worker(broker, "w1", tmp)  # a fresh worker comes back under the same name
    assert ticket.wait(VISIBILITY_S * 10) and ticket.state == "done"
    items = ticket.result.items
    assert [i.status for i in items] == ["done"] * 4, [str(i.error) for i in items]
    outputs = sorted(ticket.result.folder.glob("*.mp4"))
    assert len(outputs) == 4 and not list(ticket.result.folder.glob(".*partial*"))  # no duplicate, no half file
    assert all(probe(o).duration > 5 for o in outputs)
    assert time.time() - killed_at > VISIBILITY_S * 0.5  # the killed item really waited to be handed on
    finishes = studio.audit.rows().query("event == 'finish'")
    assert sorted(finishes["job_id"]) == sorted(i.job_id for i in items)  # recorded once each


def test_the_broker_down_fails_items_at_once_with_a_message(tmp_path):
    studio = _studio(tmp_path, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    t0 = time.time()
    ticket = studio.submit([EXAMPLES / "demo_speech.wav"], [EXAMPLES / "demo_face.png"])
    assert ticket.wait(60) and time.time() - t0 < 60
    item = ticket.result.items[0]
    assert item.status == "failed" and item.error.key == "err.broker_down"
    assert "Redis" in str(item.error) and "Redis" in item.error.text("zh")


def test_the_app_on_workers_survives_its_own_restart(workers, broker, tmp_path):
    """The web app with --broker: HTTP batches go to the workers; the app killed mid-batch and started
    again resumes without making anything twice (what the workers finished meanwhile is picked up)."""
    import requests
    from conftest import start_app, wait_status

    proc, url = start_app(tmp_path, "--broker", broker)
    try:
        health = requests.get(url + "api/v1/health").json()
        assert health["mode"] == "workers" and {w["name"] for w in health["workers"]} >= {"w1", "w2"}
        files = [("audio", open(EXAMPLES / "demo_speech.wav", "rb"))] + \
            [("videos", open(EXAMPLES / "demo_face.png", "rb")) for _ in range(6)]
        job = requests.post(url + "api/v1/generate/batch", files=files).json()
        wait_status(job["status_url"], lambda s: sum(i["status"] == "done" for i in s["items"]) >= 1)
        proc.kill()  # the app dies; the workers go on with what they took
        proc.wait(10)
        time.sleep(3)
        proc, url = start_app(tmp_path, "--broker", broker)
        assert job["batch"] in requests.get(url + "api/v1/batches/resumable").json()["batches"]
        r = requests.post(url + f"api/v1/batches/{job['batch']}/resume")
        done = wait_status(r.json()["status_url"], lambda s: s["state"] == "done", timeout=300)
        assert [i["status"] for i in done["items"]] == ["done"] * 6
        folder = tmp_path / "outputs" / job["batch"]
        assert len(list(folder.glob("*.mp4"))) == 6 and not list(folder.glob(".*partial*"))
    finally:
        proc.kill()
        proc.wait(10)


def test_items_still_queued_when_the_app_restarts_are_not_sent_again(broker, tmp_path):
    """No worker takes anything while the app dies and comes back: the resume follows the tasks still in
    the queue (one message each in Redis, not two), and a worker started afterwards makes each once."""
    import redis
    import requests
    from conftest import make, start_app, wait_status

    quiet = broker.rsplit("/", 1)[0] + "/1"  # a Redis database no worker listens on (yet)
    queue = redis.Redis.from_url(quiet)
    audio = make(["-i", str(EXAMPLES / "demo_speech.wav"), "-t", "2"], tmp_path / "two_seconds.wav")
    proc, url = start_app(tmp_path, "--broker", quiet)
    try:
        files = [("audio", open(audio, "rb"))] + [("videos", open(EXAMPLES / "demo_face.png", "rb")) for _ in range(3)]
        job = requests.post(url + "api/v1/generate/batch", files=files).json()
        deadline = time.time() + 60
        while queue.llen("celery") < 3 and time.time() < deadline:
            time.sleep(0.1)
        assert queue.llen("celery") == 3
        proc.kill()  # the app dies with its three items still queued
        proc.wait(10)
        proc, url = start_app(tmp_path, "--broker", quiet)
        resumed = requests.post(url + f"api/v1/batches/{job['batch']}/resume")
        assert resumed.status_code == 202
        wait_status(resumed.json()["status_url"], lambda s: all(i["status"] == "running" for i in s["items"]))
        time.sleep(1.0)  # every item has been looked up in the broker by now
        assert queue.llen("celery") == 3  # followed; sending them again made it 6
        worker = start_worker(quiet, "late", tmp_path)
        try:
            done = wait_status(resumed.json()["status_url"], lambda s: s["state"] == "done", timeout=300)
        finally:
            worker.kill()
            worker.wait(10)
        assert [i["status"] for i in done["items"]] == ["done"] * 3
        log = (tmp_path / "late.log").read_text(errors="replace")
        assert [log.count(f"[{i['job_id']}] received") for i in done["items"]] == [1, 1, 1]
    finally:
        proc.kill()
        proc.wait(10)
