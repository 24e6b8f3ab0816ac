"""Issue 10, in a real browser at 1366x768: what a nurse trips over in the web app."""
from __future__ import annotations

import shutil
import time
import zipfile

import numpy as np
import pytest
import requests
import soundfile as sf
from conftest import EXAMPLES, drop_audio, drop_files, start_app, wait_status
from playwright.sync_api import expect

pytestmark = pytest.mark.slow
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nurse")
    proc, url = start_app(tmp)
    yield url, tmp
    proc.terminate()
    proc.wait(20)


@pytest.fixture(scope="module")
def page(app):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed (the README's test command installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        yield browser.new_page(viewport={"width": 1366, "height": 768})
        browser.close()


def open_tab(page, url: str, tab: str) -> None:
    """A fresh page on one tab."""
    page.goto(url)
    page.get_by_role("tab", name=tab).click()


def _post_batch(url: str, audio, templates) -> dict:
    files = [("audio", open(audio, "rb"))] + [("videos", open(t, "rb")) for t in templates]
    r = requests.post(url + "api/v1/generate/batch", files=files)
    assert r.status_code == 202, r.text
    return r.json()


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """6 s of the demo voice (items take a few seconds each)."""
    x, rate = sf.read(EXAMPLES / "demo_speech.wav", dtype="float32")
    path = tmp_path_factory.mktemp("speech") / "talk.wav"
    sf.write(path, np.tile(x, int(np.ceil(6 * rate / x.size)))[: 6 * rate], rate)
    return path


@pytest.fixture(scope="module")
def blank_picture(tmp_path_factory):
    import cv2

    path = tmp_path_factory.mktemp("blank") / "wall.png"
    cv2.imwrite(str(path), np.full((256, 256, 3), 180, np.uint8))
    return path


def test_reload_shows_the_running_batch_and_history_without_refresh(app, page, speech, blank_picture):
    url, _ = app
    job = _post_batch(url, speech, [EXAMPLES / "demo_face.png", blank_picture, EXAMPLES / "demo_face.png"])
    wait_status(job["status_url"], lambda s: s["state"] == "running")
    page.goto(url)  # a page opened (or reloaded) mid-batch
    summary = page.locator("#batch-summary")
    summary.get_by_text("/ 3").first.wait_for(timeout=60_000)
    summary.get_by_text("Finished: 2 / 3 done").wait_for(timeout=240_000)
    # the failed item's whole reason is readable, not cut off in a table cell
    summary.get_by_text("wall.png").wait_for()
    assert "no face found" in summary.inner_text().lower()
    assert page.locator("#batch-summary ~ * video, video").count() >= 2
    page.get_by_role("tab", name="History").click()  # no Refresh pressed
    expect(page.locator("#history-table")).to_contain_text("wall.png", timeout=20_000)


def test_second_browser_batch_waits_with_the_one_message(app, page, speech):
    url, _ = app
    job = _post_batch(url, speech, [EXAMPLES / "demo_face.png"] * 8)  # keeps the runner busy a while
    wait_status(job["status_url"], lambda s: s["state"] == "running")
    page.goto(url)
    page.locator("#batch-summary").get_by_text("/ 8").first.wait_for(timeout=30_000)  # the page is live
    drop_audio(page, "batch-audio", speech)
    drop_files(page, "batch-templates", [EXAMPLES / "demo_face.png"])
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Start batch").click()
    seen = []
    for _ in range(60):
        seen.append(page.locator("#batch-summary").inner_text())
        if "Waiting in the queue" in seen[-1]:
            break
        page.wait_for_timeout(500)
    assert "Waiting in the queue" in seen[-1], (seen, requests.get(job["status_url"]).json()["state"])
    page.locator("#batch-summary").get_by_text("Finished: 1 / 1 done").wait_for(timeout=240_000)


def test_starting_empty_and_wav2lip_without_weights_say_what_to_do(app, page):
    url, _ = app
    page.goto(url)
    start = page.get_by_role("button", name="Start batch")
    start.wait_for()
    box = start.bounding_box()
    assert box["y"] + box["height"] <= 768, box  # visible without scrolling on a 1366x768 screen
    start.click()
    page.locator("#batch-summary").get_by_text("Please add an audio recording first.").wait_for(timeout=20_000)
    assert page.locator(".error").count() == 0  # no red error badges on the output panels
    page.get_by_text("Engine (built-in unless you change it)").click()
    radio = page.get_by_text("not installed").first
    radio.wait_for()
    radio.click()
    page.get_by_text("python -m lipsync.download").first.wait_for(timeout=10_000)


def test_delete_asks_first_and_the_zip_follows(app, page, speech):
    url, tmp = app
    job = _post_batch(url, speech, [EXAMPLES / "demo_face.png"] * 2)
    done = wait_status(job["status_url"], lambda s: s["state"] == "done")
    gone = done["items"][0]["output"]
    open_tab(page, url, "History")
    table = page.locator("#history-table")
    expect(table).to_contain_text(gone, timeout=20_000)
    table.get_by_text(gone).locator("visible=true").first.click()
    page.locator("#history-job input, #history-job textarea").first.wait_for()
    page.get_by_role("button", name="Delete selected output").click()
    page.get_by_text("This cannot be undone").wait_for(timeout=10_000)
    assert (tmp / "outputs" / done["batch"] / gone).is_file()  # nothing deleted before the answer
    page.get_by_role("button", name="Yes, delete").click()
    page.get_by_text("Deleted.").first.wait_for(timeout=20_000)  # said once the video and ZIP are done
    assert not (tmp / "outputs" / done["batch"] / gone).exists()
    zip_file = tmp / "downloaded.zip"
    zip_file.write_bytes(requests.get(done["zip_url"]).content)  # what a download gives now
    with zipfile.ZipFile(zip_file) as z:
        names = z.namelist()
    assert gone not in names and done["items"][1]["output"] in names


def test_history_dates_in_the_local_style_work_and_bad_ones_are_said(app, page):
    url, _ = app
    open_tab(page, url, "History")
    table = page.locator("#history-table")
    expect(table).to_contain_text("demo_face.png", timeout=20_000)
    since = page.get_by_label("From (YYYY-MM-DD)")
    since.fill(time.strftime("%d/%m/%Y"))
    since.press("Enter")
    page.wait_for_timeout(1500)
    expect(table).to_contain_text("demo_face.png", timeout=10_000)  # today's jobs still listed
    since.fill("yesterday")
    since.press("Enter")
    page.get_by_text("is not a date").first.wait_for(timeout=10_000)


def test_add_to_library_refuses_a_picture_without_a_face(app, page, blank_picture):
    url, _ = app
    open_tab(page, url, "Templates")
    drop_files(page, "template-file", [blank_picture])
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Add to library").click()
    report = page.locator("#template-report")
    report.get_by_text("NOT ADDED").wait_for(timeout=60_000)
    assert "no face" in report.inner_text().lower()
    expect(page.locator("#library-table")).not_to_contain_text("wall.png")
    open_tab(page, url, "Templates")
    drop_files(page, "template-file", [EXAMPLES / "demo_face.png"])
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Add to library").click()
    report.get_by_text("Added to the library as demo_face.png").wait_for(timeout=60_000)
    expect(page.locator("#library-table")).to_contain_text("demo_face.png", timeout=10_000)


def test_logs_tab_shows_the_newest_lines_first_in_plain_words(app, page):
    import re

    url, _ = app
    open_tab(page, url, "Logs")
    box = page.get_by_label("Application log (live, newest first)")
    expect(box).not_to_have_value("", timeout=10_000)
    lines = box.input_value().splitlines()
    assert "lipsync.batch:" not in box.input_value() and re.match(r"\d\d:\d\d:\d\d  ", lines[0])
    stamps = [line[:8] for line in lines if re.match(r"\d\d:\d\d:\d\d  ", line)]
    assert stamps == sorted(stamps, reverse=True)


def test_a_template_check_behind_a_batch_says_it_waits_then_captions_and_the_history_zip(app, page, speech):
    url, _tmp = app
    job = _post_batch(url, speech, [EXAMPLES / "demo_face.png"] * 6)  # keeps the runner busy a while
    wait_status(job["status_url"], lambda s: s["state"] == "running")
    open_tab(page, url, "Templates")
    drop_files(page, "template-file", [EXAMPLES / "demo_face.png"])
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Check template").click()
    report = page.locator("#template-report")
    expect(report).to_contain_text("Waiting in the queue", timeout=30_000)  # not silent behind the batch
    expect(report).to_contain_text("demo_face.png", timeout=240_000)
    expect(report).not_to_contain_text("Waiting")
    done = wait_status(job["status_url"], lambda s: s["state"] == "done")
    # each finished video is captioned with its template; History offers the batch ZIP
    page.goto(url)
    expect(page.locator("#batch-gallery")).to_contain_text("demo_face.png", timeout=30_000)
    open_tab(page, url, "History")
    name = done["items"][0]["output"]
    table = page.locator("#history-table")
    expect(table).to_contain_text(name, timeout=20_000)
    table.get_by_text(name).locator("visible=true").first.click()
    # the batch ZIP is offered as a download link (its name is split over two elements on the page)
    link = page.locator(f"#history-files a[href$='/{done['batch']}.zip']")
    expect(link).to_have_count(1, timeout=20_000)
    with page.expect_download() as got:  # what the nurse downloads is in the audit log
        link.click()
    assert got.value.suggested_filename == f"{done['batch']}.zip"
    from lipsync.jobs.audit import AuditLog

    zip_name = f"{done['batch']}.zip"
    for _ in range(20):  # recorded once the whole file has been sent
        downloads = AuditLog(_tmp / "data" / "jobs.sqlite3").rows().query("event == 'download'")
        mine = downloads[downloads["files"].str.contains(zip_name, regex=False)]
        if len(mine):
            break
        time.sleep(0.5)
    assert len(mine) == 1 and set(mine["client"]) == {"127.0.0.1"}
