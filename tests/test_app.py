"""The real web app on a free port: gradio_client, plain HTTP, and a headless-Chromium batch run
that records every network request the page makes."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
from conftest import EXAMPLES, ROOT, drop_audio, drop_files, shared, start_app

pytestmark = pytest.mark.slow
# screenshots go to test-results/ (ignored by git) so running the tests leaves the checkout clean;
# LIPSYNC_SCREENSHOTS=docs refreshes the ones the README shows
DOCS = ROOT / os.environ.get("LIPSYNC_SCREENSHOTS", "test-results")
DOCS.mkdir(exist_ok=True)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    proc, url = start_app(tmp)
    yield url, tmp
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def client(app):
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    from gradio_client import Client

    return Client(app[0], verbose=False)


def test_http_single_exact_script(app, tmp_path):
    url = app[0] + "api/v1/generate/single"
    result = requests.post(url, files={"audio": open(EXAMPLES / "demo_speech.wav", "rb"),
                                       "video": open(EXAMPLES / "demo_face.png", "rb")}).json()
    assert result["status"] == "done", result
    video = requests.get(result["download_url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    out = tmp_path / "result.mp4"
    out.write_bytes(video.content)
    from lipsync.media import probe

    info = probe(out)
    assert (info.width, info.height) == (512, 512) and info.has_audio


def test_http_batch_and_status(app):
    base = app[0]
    r = requests.post(base + "api/v1/generate/batch",
                      files=[("audio", open(shared("a5_zh_bus.wav"), "rb")),
                             ("videos", open(shared("p1_hallo6.jpg"), "rb")),
                             ("videos", ("notes.mp4", b"not a video", "video/mp4"))])
    assert r.status_code == 202
    status_url = r.json()["status_url"]
    for _ in range(240):
        status = requests.get(status_url).json()
        if status["state"] in ("done", "failed"):
            break
        time.sleep(0.5)
    assert status["state"] == "done"
    items = status["items"]
    assert [i["status"] for i in items] == ["done", "failed"]
    assert "notes.mp4" in items[1]["error"]
    assert requests.get(items[0]["download_url"]).status_code == 200
    assert requests.get(status["zip_url"]).content[:2] == b"PK"
    hist = requests.get(base + "api/v1/history").json()
    assert {"p1_hallo6.jpg", "notes.mp4"} <= {h["template"] for h in hist}
    assert requests.get(base + "api/v1/files/" + status["batch"] + "/..%2F..%2Fdata%2Fjobs.sqlite3").status_code == 404


def test_gradio_client_single_and_batch(client):
    from gradio_client import handle_file

    status, video, file = client.predict(handle_file(str(EXAMPLES / "demo_speech.wav")),
                                         handle_file(str(EXAMPLES / "demo_face.png")), "builtin", api_name="/single")
    assert status.startswith("**Done**") and Path(file).stat().st_size > 10_000
    head, table, gallery, downloads, items = client.predict(
        handle_file(str(shared("a5_zh_bus.wav"))),
        [handle_file(str(shared("p1_hallo6.jpg"))), handle_file(str(shared("p3_sadtalker_people0.png")))],
        [], "builtin", api_name="/batch")
    assert "2 / 2 done" in head
    assert [row[3] for row in table["data"]] == ["done", "done"]
    assert len(gallery) == 2
    assert any(str(d).endswith(".zip") for d in downloads)
    assert [i["status"] for i in items] == ["done", "done"] and all(i["qc"]["verdict"] for i in items)
    assert {i["review"] for i in items} == {"to_review"} and all(len(i["job_id"]) == 12 for i in items)
    report, details, _faces, _face = client.predict(handle_file(str(shared("v4_retalk_face5.mp4"))),
                                                    api_name="/check_template")
    assert "GOOD" in report and details["face_share"] > 0.9
    df = client.predict("done", "all", "", "", 1, api_name="/history")
    assert len(df["data"]) >= 3


def test_browser_batch_and_no_outside_requests(app):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed (the README's test command installs it)")
    from playwright.sync_api import expect, sync_playwright

    url, tmp = app
    host = urlparse(url).netloc
    requests_seen: list[str] = []
    DOCS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda req: requests_seen.append(req.url))
        page.goto(url)
        page.get_by_role("button", name="Start batch").wait_for()
        drop_audio(page, "batch-audio", shared("a5_zh_bus.wav"))
        drop_files(page, "batch-templates", [shared("p1_hallo6.jpg"), shared("p3_sadtalker_people0.png")])
        page.wait_for_timeout(1500)
        page.get_by_role("button", name="Start batch").click()
        page.get_by_text("Finished: 2 / 2 done").wait_for(timeout=240_000)
        assert page.locator("video").count() >= 2
        page.screenshot(path=str(DOCS / "screenshot-batch.png"), full_page=True)
        page.get_by_role("tab", name="History").click()
        page.get_by_role("button", name="Refresh").click()
        expect(page.locator("#history-table")).to_contain_text("p3_sadtalker_people0.png", timeout=30_000)
        page.screenshot(path=str(DOCS / "screenshot-history.png"), full_page=True)
        page.get_by_role("tab", name="Templates").click()
        drop_files(page, "template-file", [shared("v4_retalk_face5.mp4")])
        page.wait_for_timeout(1000)
        page.get_by_role("button", name="Check template").click()
        page.get_by_text("GOOD: v4_retalk_face5.mp4").wait_for(timeout=120_000)
        page.screenshot(path=str(DOCS / "screenshot-templates.png"), full_page=True)
        for tab in ("Single", "Logs"):
            page.get_by_role("tab", name=tab).click()
            page.wait_for_timeout(800)
            page.screenshot(path=str(DOCS / f"screenshot-{tab.lower()}.png"), full_page=True)
        browser.close()
    outside = [u for u in requests_seen if urlparse(u).scheme in ("http", "https", "ws", "wss")
               and urlparse(u).netloc != host]
    assert requests_seen and not outside, outside


def test_example_client_script_downloads_results(app, tmp_path):
    out = tmp_path / "results"
    proc = subprocess.run([sys.executable, str(EXAMPLES / "client_batch.py"), str(EXAMPLES / "demo_speech.wav"),
                           str(EXAMPLES / "demo_face.png"), "--url", app[0], "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1 / 1 done" in proc.stdout
    assert (out / "demo_face__demo_speech.mp4").stat().st_size > 10_000
    assert list(out.glob("*.zip"))


def test_http_upload_names_with_path_parts_stay_inside(app):
    url, tmp = app
    r = requests.post(url + "api/v1/generate/single",
                      files={"audio": ("../../../talk $(id).wav", open(shared("a5_zh_bus.wav"), "rb")),
                             "video": ("..\\..\\..\\Ärztin; rm -rf.png",
                                       open(shared("p3_sadtalker_people0.png"), "rb"))})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "/" not in body["output"] and ".." not in body["output"] and "$(" not in body["output"]
    kept = list((tmp / "data" / "uploads").rglob("*"))
    assert all(str(p.resolve()).startswith(str((tmp / "data" / "uploads").resolve())) for p in kept)
    assert not list(tmp.parent.glob("talk*"))


def test_resume_button_endpoint_skips_finished_items(app, client):
    base = app[0]
    r = requests.post(base + "api/v1/generate/batch",
                      files=[("audio", open(shared("a5_zh_bus.wav"), "rb")),
                             ("videos", open(shared("p3_sadtalker_people0.png"), "rb")),
                             ("videos", ("broken.mp4", b"\0" * 100, "video/mp4"))])
    status_url = r.json()["status_url"]
    for _ in range(240):
        status = requests.get(status_url).json()
        if status["state"] == "done":
            break
        time.sleep(0.5)
    batch = status["batch"]
    done_file = Path(app[1]) / "outputs" / batch / status["items"][0]["output"]
    before = done_file.stat().st_mtime_ns
    summary = client.predict(batch, api_name="/resume")  # what the History tab's button runs
    assert f"Resumed {batch}: 1 / 2 done" in summary and "1 failed" in summary
    assert done_file.stat().st_mtime_ns == before  # the finished video was not made again
