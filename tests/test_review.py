"""Issue 12: an automatic check on every video, and a review step that survives restarts."""
from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest
import requests
import soundfile as sf
from conftest import EXAMPLES, drop_files, make, shared, start_app, wait_status

from lipsync import Settings, Studio
from lipsync.audio import load_audio
from lipsync.qc import check_video, listed, time_ranges

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def studio(tmp_path_factory) -> Studio:
    base = tmp_path_factory.mktemp("review")
    return Studio(Settings(outputs_dir=base / "out", data_dir=base / "data"))


def test_time_ranges_are_whole_seconds_and_moments_stay_moments():
    mask = np.zeros(250, bool)
    mask[25:50] = True       # 1.0-2.0 s
    mask[60:62] = True       # 2.4 s: within half a second of the first run, so part of it
    mask[200] = True         # 8.0 s: within one second, a moment
    assert time_ranges(mask, 25.0) == ["0:01-0:02", "0:08"]  # 1.0-2.48 s: seconds 1 and 2
    assert time_ranges(np.zeros(10, bool), 25.0) == []
    # lone frames about a second apart (a photo's quick lip closures) are moments to look at, not one
    # range over the whole video (they read "0:00-0:04" before)
    sparse = np.zeros(125, bool)
    sparse[[12, 33, 38, 67, 88, 95]] = True
    assert time_ranges(sparse, 25.0) == ["0:00", "0:01", "0:02", "0:03"]
    assert listed(time_ranges(sparse, 25.0), most=3) == "0:00, 0:01, 0:02 …"


def test_a_good_output_is_good_and_the_same_mouth_under_other_speech_is_not(studio, tmp_path):
    item = studio.generate(shared("a4_zh_news.wav"), shared("v1_retalk_face1.mp4"))
    qc = item.result.qc
    assert item.status == "done" and qc.verdict == "good", qc
    assert qc.sync >= 0.5 and abs(qc.lag) <= 2 and qc.face_share == 1.0 and qc.untouched == []
    sheet = item.output.parent / qc.sheet
    assert sheet.is_file() and sheet.stat().st_size > 1000
    # the same video with unrelated speech: the mouth moves, but not with this sound
    other = make(["-i", str(item.output), "-i", str(shared("a6_fr_macron.wav")), "-map", "0:v", "-map", "1:a",
                  "-c:v", "copy", "-shortest"], tmp_path / "other_speech.mp4")
    bad = check_video(other)
    assert bad.verdict in ("check", "poor") and bad.sync < 0.35, bad
    assert any(r.key in ("qc.r_sync_poor", "qc.r_sync_low") for r in bad.reasons)
    assert "口型" in bad.text("zh") or "嘴型" in bad.text("zh")


def test_a_real_video_cut_into_shuffled_pieces_is_marked_for_jumps_and_the_uncut_one_is_not(tmp_path):
    """The mouth-jump rule on a real speaker: cut into 4-7 frame pieces played in shuffled order, the mouth
    jumps at every cut (marked); the same video uncut is not marked."""
    from lipsync.media import VideoWriter, iter_video_frames, probe

    real = shared("v1_retalk_face1.mp4")
    info = probe(real)
    frames = list(iter_video_frames(info, info.fps))  # 7 s at 512x512: small enough to hold for a test
    rng = np.random.default_rng(0)
    pieces, i = [], 0
    while i < len(frames):
        n = int(rng.integers(4, 8))
        pieces.append(frames[i:i + n])
        i += n
    cut = tmp_path / "cut.mp4"
    with VideoWriter(cut, (info.width, info.height), info.fps, real, info.duration, crf=16) as writer:
        for k in rng.permutation(len(pieces)):
            for frame in pieces[k]:
                writer.write(frame)
        writer.close()
    jumpy, steady = check_video(cut), check_video(real)
    assert any(r.key == "qc.r_flicker" for r in jumpy.reasons) and len(jumpy.flicker) >= 3, jumpy
    assert steady.flicker == [] and not any(r.key == "qc.r_flicker" for r in steady.reasons), steady


def test_a_photo_video_is_not_marked_for_ordinary_quick_lip_movements(studio):
    """On a photo nothing but the warped mouth moves: its quick closures used to beat their still neighbours
    fourfold and mark most photo videos (this one: 7 % of frames); they are measured against the video's
    typical mouth movement too."""
    item = studio.generate(shared("a5_zh_bus.wav"), shared("p1_hallo6.jpg"))
    assert item.status == "done", item.error
    assert not any(r.key == "qc.r_flicker" for r in item.result.qc.reasons), item.result.qc
    assert len(item.result.qc.flicker) <= 1, item.result.qc.flicker


def test_a_face_covered_for_a_second_is_reported_with_its_time_range(studio, tmp_path):
    covered = make(["-i", str(shared("v4_retalk_face5.mp4")), "-vf",
                    "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,1,2)'", "-an",
                    "-c:v", "libx264", "-crf", "16"], tmp_path / "covered.mp4")
    speech = load_audio(shared("a1_en_hdtf_radio34.wav")).samples[: 16000 * 4]  # shorter than the template
    audio = tmp_path / "speech4s.wav"
    sf.write(audio, speech, 16000)
    item = studio.generate(audio, covered)
    qc = item.result.qc
    assert item.status == "done", item.error
    assert qc.untouched == ["0:01"] or qc.untouched == ["0:01-0:02"], qc.untouched  # 0:01 = within that second
    assert 0.65 < qc.face_share < 0.8 and qc.verdict == "poor"
    assert any(r.key == "qc.r_no_face" and qc.untouched[0] in r.text("zh") for r in qc.reasons)


def test_review_decisions_survive_a_restart_and_the_approved_zip_holds_exactly_them(tmp_path):
    settings = Settings(outputs_dir=tmp_path / "out", data_dir=tmp_path / "data")
    first = Studio(settings)
    templates = [EXAMPLES / "demo_face.png", shared("p1_hallo6.jpg"), shared("p3_sadtalker_people0.png")]
    batch = first.generate_batch([EXAMPLES / "demo_speech.wav"], templates)
    ids = [i.job_id for i in batch.items]
    assert [i.status for i in batch.items] == ["done"] * 3
    assert all(first.job(j)["review"] == "to_review" and first.job(j)["qc"] for j in ids)
    first.review(ids[0], "approved", "fine", reviewer="wang")
    first.review(ids[1], "rejected", "mouth too wide at 0:02")
    first.review(ids[2], "approved")
    first.review(ids[2], "to_review")
    with pytest.raises(Exception) as bad:
        first.review(ids[0], "maybe")
    assert bad.value.code == "err.bad_decision"

    again = Studio(settings)  # a restart: everything comes from the history
    rows = [again.job(j) for j in ids]
    assert [r["review"] for r in rows] == ["approved", "rejected", "to_review"]
    assert rows[0]["reviewer"] == "wang" and rows[1]["review_note"] == "mouth too wide at 0:02"
    assert again.reviews.counts(batch.folder.name) == {"to_review": 1, "approved": 1, "rejected": 1}
    assert set(again.history(review="approved")["id"]) == {ids[0]}
    with zipfile.ZipFile(again.approved_zip(batch.folder.name)) as z:
        assert z.namelist() == [batch.items[0].output.name]


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("review_app")


@pytest.fixture(scope="module")
def app(app_dir):
    proc, url = start_app(app_dir)
    yield url
    proc.terminate()
    proc.wait(20)


def test_http_items_carry_the_check_and_take_review_decisions(app):
    files = [("audio", open(EXAMPLES / "demo_speech.wav", "rb")),
             ("videos", open(EXAMPLES / "demo_face.png", "rb")), ("videos", open(EXAMPLES / "demo_face.png", "rb"))]
    job = requests.post(app + "api/v1/generate/batch", files=files).json()
    done = wait_status(job["status_url"], lambda s: s["state"] == "done")
    first, second = done["items"]
    assert first["qc"]["verdict"] in ("good", "check", "poor") and first["qc"]["face_share"] == 1.0
    assert isinstance(first["qc"]["sync"], float) and first["review"] == "to_review"
    r = requests.post(app + f"api/v1/items/{first['job_id']}/review", json={"decision": "approved", "note": "ok"})
    assert r.status_code == 200 and r.json()["review"] == "approved"
    r = requests.post(app + f"api/v1/items/{second['job_id']}/review", json={"decision": "publish"})
    assert r.status_code == 400 and r.json()["code"] == "err.bad_decision"
    again = requests.get(job["status_url"]).json()
    assert [i["review"] for i in again["items"]] == ["approved", "to_review"]
    assert again["items"][0]["review_note"] == "ok"
    assert "1 approved, 0 rejected, 1 to review" in again["message"]
    z = requests.get(app + f"api/v1/batches/{done['batch']}/zip", params={"approved": 1})
    assert z.status_code == 200
    import io

    assert zipfile.ZipFile(io.BytesIO(z.content)).namelist() == [first["output"]]
    # make the second one again: a new job, and the batch keeps two videos
    r = requests.post(app + f"api/v1/items/{second['job_id']}/rerun", json={"engine": "builtin"})
    assert r.status_code == 202, r.text
    redone = wait_status(r.json()["status_url"], lambda s: s["state"] == "done")
    assert [i["status"] for i in redone["items"]] == ["done", "done"]
    assert redone["items"][1]["output"] == second["output"] and redone["items"][1]["job_id"] != second["job_id"]
    assert requests.post(app + "api/v1/items/nope/rerun").status_code == 404
    # all of it is in the audit log, with the client's address
    events = requests.get(app + "api/v1/audit").json()
    kinds = [e["event"] for e in events]
    assert {"submit", "finish", "review", "download", "rerun"} <= set(kinds)
    assert all(e["client"] == "127.0.0.1" for e in events if e["event"] in ("submit", "review", "download"))
    csv = requests.get(app + "api/v1/audit", params={"format": "csv", "from": "2000-01-01"}).text
    assert csv.startswith("time,event,user,client") and csv.count("\n") == len(events) + 1


def test_a_reviewer_approves_in_the_history_tab(app):
    import shutil

    from playwright.sync_api import expect, sync_playwright

    files = [("audio", open(EXAMPLES / "demo_speech.wav", "rb")), ("videos", open(EXAMPLES / "demo_face.png", "rb"))]
    job = requests.post(app + "api/v1/generate/batch", files=files).json()
    done = wait_status(job["status_url"], lambda s: s["state"] == "done")
    name = done["items"][0]["output"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(app)
        page.get_by_role("tab", name="History").click()
        table = page.locator("#history-table")
        expect(table).to_contain_text(name, timeout=20_000)
        table.get_by_text(name).locator("visible=true").first.click()
        expect(page.locator("#review-sheet img")).to_be_visible(timeout=10_000)  # the mouths at a glance
        page.locator("#review-note textarea").fill("looks right")
        page.get_by_role("button", name="Approve", exact=True).click()
        page.get_by_text("Saved: approved.").wait_for(timeout=10_000)
        browser.close()
    row = requests.get(job["status_url"]).json()["items"][0]
    assert row["review"] == "approved" and row["review_note"] == "looks right"


def test_one_video_is_made_again_in_place_and_a_failed_attempt_keeps_the_old_one(tmp_path):
    studio = Studio(Settings(outputs_dir=tmp_path / "out", data_dir=tmp_path / "data"))
    photo = tmp_path / "photo.jpg"  # a copy: the test takes it away later
    shutil.copyfile(shared("p1_hallo6.jpg"), photo)
    batch = studio.generate_batch([EXAMPLES / "demo_speech.wav"], [EXAMPLES / "demo_face.png", photo])
    first, second = batch.items
    studio.review(first.job_id, "rejected", "redo")
    before = first.output.stat().st_mtime_ns

    ticket = studio.rerun(first.job_id)
    assert ticket.wait(300) and ticket.state == "done"
    rows = studio.store.batch_rows(batch.folder.name)
    assert len(rows) == 2 and first.job_id not in {r["id"] for r in rows}  # the new row took its place
    new = next(r for r in rows if r["output"] == str(first.output))
    assert new["status"] == "done" and new["review"] == "to_review" and new["qc"]
    assert first.output.stat().st_mtime_ns > before
    with zipfile.ZipFile(batch.zip_path) as z:
        assert sorted(z.namelist()) == sorted([first.output.name, second.output.name, "manifest.json"])
    manifest = __import__("json").loads(batch.manifest.read_text())
    assert [i["status"] for i in manifest["items"]] == ["done", "done"]

    # inputs gone: the attempt fails, the old video and its row stay as they were
    kept = second.output.read_bytes()
    assert next(r for r in rows if r["id"] == second.job_id)["template_path"] == str(photo)
    photo.unlink()
    ticket = studio.rerun(second.job_id)
    assert ticket.wait(300)
    assert studio.job(second.job_id)["status"] == "done" and second.output.read_bytes() == kept
    failed = [r for r in studio.store.batch_rows(batch.folder.name) if r["status"] == "failed"]
    assert len(failed) == 1 and "no longer available" in failed[0]["error"]


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory):
    """Two portraits side by side, each 400x400 (one picture, two people)."""
    import cv2

    left = cv2.resize(cv2.imread(str(shared("p1_hallo6.jpg"))), (400, 400))
    right = cv2.resize(cv2.imread(str(shared("p3_sadtalker_people0.png"))), (400, 400))
    path = tmp_path_factory.mktemp("two") / "two_doctors.png"
    cv2.imwrite(str(path), np.hstack([left, right]))
    return path


def _mouth_change(output, template, half: int) -> float:
    """How much the difference of the lower middle of one half (0 left, 1 right) to the template varies
    over the video: a mouth that moves varies it, codec noise on an untouched face hardly does."""
    import cv2

    from lipsync.media import iter_video_frames, probe

    ref = cv2.imread(str(template)).astype(np.float32)
    info = probe(output)
    diffs = [float(np.abs((frame.astype(np.float32) - ref)[220:360, half * 400 + 100: half * 400 + 300]).mean())
             for frame in iter_video_frames(info, info.fps)]
    return max(diffs) - min(diffs)


def test_the_chosen_face_of_two_speaks_and_the_other_stays_still(studio, two_faces):
    from lipsync.face.analyse import find_faces
    from lipsync.media import probe

    assert len(find_faces(probe(two_faces))) == 2
    for face, moved, still in ((1, 0, 1), (2, 1, 0)):
        item = studio.generate(EXAMPLES / "demo_speech.wav", two_faces, studio.options("builtin", face=face))
        assert item.status == "done", item.error
        moving, untouched = _mouth_change(item.output, two_faces, moved), _mouth_change(item.output, two_faces, still)
        assert moving > 1.0 and untouched < 0.2, (face, moving, untouched)


def test_the_library_keeps_the_chosen_face_for_every_later_job(studio, two_faces):
    kept, report = studio.add_to_library(two_faces, "two_doctors.png", face=2)
    assert report.faces == 2 and len(report.thumbs) == 2 and "thumbs" not in report.to_dict()
    assert studio.library_face(kept) == 2
    ticket = studio.submit([EXAMPLES / "demo_speech.wav"], [kept], studio.options("builtin"),
                           {str(kept): "two_doctors.png"})
    assert ticket.wait(300) and ticket.state == "done"
    item = ticket.result.items[0]
    assert item.status == "done", item.error
    assert _mouth_change(item.output, two_faces, 1) > 1.0 and _mouth_change(item.output, two_faces, 0) < 0.2
    studio.remove_from_library(kept)
    assert not (studio.library_dir / ".faces" / kept.name.split("__")[0]).exists()


def test_the_template_check_shows_the_faces_and_the_choice_goes_into_the_library(app, app_dir, two_faces):
    import shutil

    from playwright.sync_api import expect, sync_playwright

    from lipsync.face import content_hash

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(app)
        page.get_by_role("tab", name="Templates").click()
        drop_files(page, "template-file", [two_faces])
        page.wait_for_timeout(1000)
        page.get_by_role("button", name="Check template").click()
        expect(page.locator("#template-faces img")).to_have_count(2, timeout=120_000)  # numbered, left to right
        page.locator("#template-face").get_by_text("face 2").click()
        page.get_by_role("button", name="Add to library").click()
        expect(page.locator("#template-report")).to_contain_text("Added to the library", timeout=120_000)
        browser.close()
    mark = app_dir / "data" / "library" / ".faces" / content_hash(two_faces)[:12]
    assert mark.read_text() == "2"  # every later job made from it speaks with the right-hand face
