"""Nothing lost: a real SIGKILL mid-batch and resume, hostile inputs, SQLite under concurrent access,
upload limits, login on every route, no path traversal, no outbound traffic from the server."""
import os
import signal
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile as sf
from conftest import EXAMPLES, make, shared, start_app, wait_status

from lipsync.jobs import JobStore
from lipsync.media import probe

pytestmark = pytest.mark.slow


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except Exception:
        proc.kill()


def _socket_inodes(pid: int) -> set[str]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def remote_addresses(pid: int) -> set[str]:
    """Remote IPs of the TCP/UDP sockets a process holds (from /proc; 0.0.0.0 = not connected)."""
    inodes = _socket_inodes(pid)
    remotes = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            cols = line.split()
            if cols[9] not in inodes:
                continue
            ip_hex = cols[2].split(":")[0]
            raw = bytes.fromhex(ip_hex)
            if len(raw) == 4:
                ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                ip = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
            remotes.add(ip)
    return remotes


def test_sigkill_mid_batch_then_resume(tmp_path):
    # the media first: a skip for missing media must not leave a started app running
    audio = shared("a1_en_hdtf_radio34.wav")  # 8 s: each item takes a few seconds
    templates = [shared("p3_sadtalker_people0.png"), shared("p1_hallo6.jpg"), EXAMPLES / "demo_face.png",
                 shared("v4_retalk_face5.mp4")]
    proc, url = start_app(tmp_path)
    try:
        r = requests.post(url + "api/v1/generate/batch",
                          files=[("audio", open(audio, "rb"))] + [("videos", open(t, "rb")) for t in templates])
        status_url = r.json()["status_url"]
        status = wait_status(status_url, lambda s: s.get("items") and s["items"][0]["status"] == "done"
                             and s["items"][1]["status"] == "running" and s["progress"]["stage"] == "lip-syncing")
        batch_dir = next((tmp_path / "outputs").iterdir())
        first = batch_dir / status["items"][0]["output"]
        first_bytes = first.read_bytes()
        # outbound check while a job runs: every socket of the server talks to this machine only
        remotes = remote_addresses(proc.pid)
        assert remotes <= {"0.0.0.0", "127.0.0.1", "::", "::1", "::ffff:127.0.0.1"}, remotes
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # the kill may land between two items, so also leave a half-written file for certain
    (batch_dir / ".planted.mp4.partial.mp4").write_bytes(b"half a video")
    proc, url = start_app(tmp_path)
    try:
        assert not list(batch_dir.glob(".*.partial.mp4")), "leftover partial file was not cleaned"
        hist = {h["template"]: h for h in requests.get(url + "api/v1/history").json()}
        assert hist["p3_sadtalker_people0.png"]["status"] == "done"
        assert {hist[n]["status"] for n in ("p1_hallo6.jpg", "demo_face.png", "v4_retalk_face5.mp4")} == {"interrupted"}
        assert hist["p1_hallo6.jpg"]["output"] is None  # nothing half-written is listed
        batches = requests.get(url + "api/v1/batches/resumable").json()["batches"]
        assert batches == [batch_dir.name]
        r = requests.post(url + f"api/v1/batches/{batch_dir.name}/resume")
        assert r.status_code == 202
        done = wait_status(r.json()["status_url"], lambda s: s["state"] in ("done", "failed"))
        assert [i["status"] for i in done["items"]] == ["done"] * 4
        assert first.read_bytes() == first_bytes  # the finished video was skipped, not redone
        for item in done["items"]:
            info = probe(batch_dir / item["output"])
            assert info.has_video and info.has_audio
        hist = requests.get(url + "api/v1/history").json()
        assert len(hist) == 4 and {h["status"] for h in hist} == {"done"}
        assert requests.get(url + "api/v1/batches/resumable").json()["batches"] == []
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Broken and unusual inputs, each made for real."""
    d = tmp_path_factory.mktemp("hostile")
    f = {}
    f["zero.mp4"] = d / "zero.mp4"
    f["zero.mp4"].write_bytes(b"")
    good = shared("v4_retalk_face5.mp4")
    data = good.read_bytes()
    f["truncated.mp4"] = d / "truncated.mp4"
    f["truncated.mp4"].write_bytes(data[: len(data) // 3])
    f["text.mp4"] = d / "text.mp4"
    f["text.mp4"].write_text("hello, this is not a video\n" * 50)
    f["audio_only.mp4"] = make(["-i", str(shared("a5_zh_bus.wav")), "-c:a", "aac"], d / "audio_only.mp4")
    f["one_pixel.mp4"] = make(["-f", "lavfi", "-i", "color=c=gray:size=1x64:rate=25:duration=1",
                               "-c:v", "libx264", "-pix_fmt", "yuv444p"], d / "one_pixel.mp4")
    f["8k.mp4"] = make(["-f", "lavfi", "-i", "color=c=gray:size=7680x4320:rate=25:duration=0.2", "-c:v", "libx264",
                        "-preset", "ultrafast"], d / "8k.mp4")
    f["hdr10bit.mkv"] = make(["-i", str(good), "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p10le",
                              "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc",
                              "-preset", "ultrafast"], d / "hdr10bit.mkv")
    f["rotated.mp4"] = make(["-display_rotation", "90", "-i", str(good), "-c", "copy"], d / "rotated.mp4")
    # face leaves the frame for a second: template, then a blank second, then the template again
    f["face_leaves.mp4"] = make(["-i", str(good), "-filter_complex",
                                 "[0:v]trim=0:1,setpts=PTS-STARTPTS[a];color=c=black:size=524x524:rate=25:d=1[b];"
                                 "[0:v]trim=2:3,setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3:v=1[v]",
                                 "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast"], d / "face_leaves.mp4")
    f["two_faces.mp4"] = make(["-i", str(good), "-i", str(shared("v8_sadtalker_hdtf_katiehill.mp4")), "-filter_complex",
                               "[0:v]scale=512:512[a];[a][1:v]hstack,trim=0:2", "-an", "-c:v", "libx264",
                               "-preset", "ultrafast"], d / "two_faces.mp4")
    weird = d / ("Ärztin Dr. Müller – 医生 '$(rm -rf ~)'; `x` " + "long" * 40 + ".mp4")
    weird.write_bytes(EXAMPLES.joinpath("demo_face.png").read_bytes())  # a PNG named .mp4: content decides
    f["weird"] = weird
    f["mp3_as.wav"] = make(["-i", str(shared("a5_zh_bus.wav")), "-c:a", "libmp3lame", "-f", "mp3"], d / "mp3_as.wav")
    f["silent.wav"] = d / "silent.wav"
    sf.write(f["silent.wav"], np.zeros(16000 * 2, np.float32), 16000)
    f["one_frame.wav"] = d / "one_frame.wav"
    sf.write(f["one_frame.wav"], 0.2 * np.random.default_rng(0).standard_normal(640).astype(np.float32), 16000)
    f["video_no_audio.mp4"] = make(["-i", str(good), "-an", "-c", "copy", "-t", "1"], d / "video_no_audio.mp4")
    f["long.wav"] = make(["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "7300", "-c:a", "pcm_u8"],
                         d / "long.wav")  # 2 h 2 min of silence, 58 MB
    return f


def test_hostile_templates_each_fail_clearly_and_batch_continues(service, hostile):
    bad = ["zero.mp4", "truncated.mp4", "text.mp4", "audio_only.mp4", "one_pixel.mp4", "8k.mp4"]
    good = ["hdr10bit.mkv", "rotated.mp4", "face_leaves.mp4", "two_faces.mp4", "weird"]
    batch = service.generate_batch([shared("a5_zh_bus.wav")], [hostile[n] for n in bad + good])
    by_name = {i.template: i for i in batch.items}
    for n in bad:
        item = by_name[hostile[n].name]
        assert item.status == "failed", n
        assert hostile[n].name in str(item.error) and "Traceback" not in str(item.error), str(item.error)
    assert "empty" in str(by_name["zero.mp4"].error)
    assert "no picture" in str(by_name["audio_only.mp4"].error)
    assert "too small" in str(by_name["one_pixel.mp4"].error)
    assert "7680x4320" in str(by_name["8k.mp4"].error)
    for n in good:
        item = by_name[hostile[n].name]
        assert item.status == "done", (n, item.error)
    assert probe(by_name["rotated.mp4"].output).width == 524
    leaves = by_name["face_leaves.mp4"].result
    assert 15 <= leaves.frames_without_face <= 35 and leaves.warnings
    weird_out = by_name[hostile["weird"].name].output
    assert weird_out.parent == batch.folder and "$(" not in weird_out.name and "`" not in weird_out.name
    assert len(weird_out.name) < 150


def test_hostile_audio(service, hostile, settings):
    tpl = shared("p3_sadtalker_people0.png")
    batch = service.generate_batch([hostile["zero.mp4"], hostile["video_no_audio.mp4"], hostile["text.mp4"],
                                    hostile["long.wav"], hostile["mp3_as.wav"], hostile["silent.wav"],
                                    hostile["one_frame.wav"]], [tpl])
    st = [(i.audio, i.status, i.error) for i in batch.items]
    assert [s for _, s, _ in st] == ["failed", "failed", "failed", "failed", "done", "done", "done"], st
    assert "no audio" in str(batch.items[1].error)
    assert "long.wav" in str(batch.items[3].error) and "limit" in str(batch.items[3].error)
    assert batch.items[6].result.frames == 1


def test_sqlite_wal_with_concurrent_readers(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    with store._conn() as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    errors: list[Exception] = []
    stop_at = time.time() + 3

    def writer():
        try:
            while time.time() < stop_at:
                job = store.add("b", "a.wav", "t.mp4", "builtin")
                store.update(job, status="running")
                store.update(job, status="done", seconds=1.0)
        except Exception as e:
            errors.append(e)

    def reader():
        try:
            other = JobStore(tmp_path / "jobs.sqlite3")  # a separate connection, like another process
            while time.time() < stop_at:
                other.history(limit=50)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(store.history(limit=10_000)) > 10


@pytest.fixture(scope="module")
def locked_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("locked")
    proc, url = start_app(tmp, "--user", "nurse", "--password", "s3cret!", "--max-upload-mb", "1")
    yield url, tmp
    stop(proc)


def test_login_protects_every_route(locked_app):
    url, tmp = locked_app
    auth = ("nurse", "s3cret!")
    # our HTTP API: anonymous refused, wrong password refused, right login works
    r = requests.post(url + "api/v1/generate/single", files={"audio": open(shared("a5_zh_bus.wav"), "rb"),
                                                             "video": open(shared("p1_hallo6.jpg"), "rb")})
    assert r.status_code == 401
    for path in ("api/v1/history", "api/v1/jobs/x", "api/v1/files/a/b.mp4", "api/v1/batches/resumable",
                 "api/v1/batches/a/zip"):
        assert requests.get(url + path).status_code == 401, path
        assert requests.get(url + path, auth=("nurse", "wrong")).status_code == 401, path
    assert requests.get(url + "api/v1/history", auth=auth).status_code == 200
    # Gradio's routes: config, API info, file route, upload, queue
    for path in ("config", "gradio_api/info", "gradio_api/file=" + str(EXAMPLES / "demo_face.png"),
                 "gradio_api/queue/data?session_hash=x"):
        r = requests.get(url + path)
        assert r.status_code in (401, 403), (path, r.status_code)
    r = requests.post(url + "gradio_api/upload", files={"files": open(EXAMPLES / "demo_face.png", "rb")})
    assert r.status_code in (401, 403), r.status_code
    r = requests.post(url + "gradio_api/queue/join", json={"fn_index": 0, "data": [], "session_hash": "x"})
    assert r.status_code in (401, 403), r.status_code
    assert "Start batch" not in requests.get(url).text  # the page shell carries no app content
    with requests.Session() as browser:  # Gradio's own login form opens the UI routes
        assert browser.post(url + "login", data={"username": "nurse", "password": "wrong"}).status_code == 400
        assert browser.post(url + "login", data={"username": "nurse", "password": "s3cret!"}).status_code == 200
        assert "Start batch" in browser.get(url + "config").text
    # a logged-in API job works end to end, including the download
    r = requests.post(url + "api/v1/generate/single", auth=auth,
                      files={"audio": open(shared("a5_zh_bus.wav"), "rb"),
                             "video": open(shared("p1_hallo6.jpg"), "rb")})
    assert r.status_code == 200, r.text
    assert requests.get(r.json()["download_url"]).status_code == 401
    assert requests.get(r.json()["download_url"], auth=auth).status_code == 200


def test_upload_limit_is_enforced(locked_app):
    url, _ = locked_app
    big = b"\0" * (2 * 2**20)
    r = requests.post(url + "api/v1/generate/single", auth=("nurse", "s3cret!"),
                      files={"audio": ("big.wav", big), "video": ("v.mp4", b"x")})
    assert r.status_code == 413 and "limit" in r.json()["error"]

    def chunks():  # no Content-Length: refused while streaming
        yield (b'--xyz\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n'
               b"Content-Type: application/octet-stream\r\n\r\n")
        for _ in range(40):
            yield b"\0" * 100_000
    r = requests.post(url + "api/v1/generate/batch", auth=("nurse", "s3cret!"), data=chunks(),
                      headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert r.status_code == 413


def test_downloads_only_serve_produced_files(tmp_path):
    proc, url = start_app(tmp_path)
    try:
        (tmp_path / "outputs" / "20200101_000000").mkdir(parents=True)
        planted = tmp_path / "outputs" / "20200101_000000" / "planted.mp4"
        planted.write_bytes(b"not made by the app")
        for path in ("api/v1/files/20200101_000000/planted.mp4", "api/v1/files/..%2F..%2Fdata/jobs.sqlite3",
                     "api/v1/files/../data/jobs.sqlite3", "api/v1/files/%2E%2E/%2E%2E%2Fetc%2Fpasswd",
                     "api/v1/batches/..%2F..%2Fdata/zip"):
            assert requests.get(url + path).status_code == 404, path
        for path in ("gradio_api/file=/etc/passwd", "gradio_api/file=" + str(tmp_path / "data" / "jobs.sqlite3"),
                     "gradio_api/file=" + str(Path(__file__).resolve())):
            assert requests.get(url + path).status_code in (403, 404), path
    finally:
        stop(proc)


def test_disk_full_and_unwritable_output_fail_items_not_the_service(service, tmp_path):
    from lipsync.media.encode import partial_path

    audio, tpl = shared("a5_zh_bus.wav"), shared("p3_sadtalker_people0.png")
    folder = tmp_path / "batch"
    folder.mkdir()
    partial_path(folder / "p3_sadtalker_people0__a5_zh_bus.mp4").symlink_to("/dev/full")
    batch = service.generate_batch([audio], [tpl, shared("p1_hallo6.jpg")], folder=folder)
    assert [i.status for i in batch.items] == ["failed", "done"]
    assert "disk is full" in str(batch.items[0].error)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    batch = service.generate_batch([audio], [tpl], folder=blocker / "batch")
    assert batch.items[0].status == "failed" and "Cannot create the output folder" in str(batch.items[0].error)
    assert service.generate(audio, tpl).status == "done"  # and the service goes on


def test_failed_logins_are_limited_and_the_password_can_come_from_a_file(tmp_path):
    secret = tmp_path / "password.txt"
    secret.write_text("s3cret!\n")
    proc, url = start_app(tmp_path, "--user", "nurse", "--password-file", str(secret))
    try:
        assert b"s3cret" not in open(f"/proc/{proc.pid}/cmdline", "rb").read()  # not in the process list
        assert requests.get(url + "api/v1/history", auth=("nurse", "s3cret!")).status_code == 200
        for n in range(10):  # form and basic auth count alike
            if n % 2:
                r = requests.post(url + "login", data={"username": "nurse", "password": f"guess{n}"})
            else:
                r = requests.get(url + "api/v1/history", auth=("nurse", f"guess{n}"))
            assert r.status_code in (400, 401), r.status_code
        # now even the right password waits: guessing is slowed to a crawl
        assert requests.post(url + "login", data={"username": "nurse", "password": "s3cret!"}).status_code == 429
        r = requests.get(url + "api/v1/history", auth=("nurse", "s3cret!"))
        assert r.status_code == 429 and "Too many failed logins" in r.json()["error"]
        from lipsync.jobs.audit import AuditLog

        failures = AuditLog(tmp_path / "data" / "jobs.sqlite3").rows().query("event == 'login_failure'")
        assert len(failures) == 10 and set(failures["client"]) == {"127.0.0.1"}  # each one in the audit log
    finally:
        stop(proc)
