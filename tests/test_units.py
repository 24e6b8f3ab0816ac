"""Small units: output naming, the job runner, the template report, the engine registry."""
import threading
import time
from datetime import datetime
from fractions import Fraction

import pytest
from conftest import shared

from lipsync import Settings
from lipsync.engines import EngineRegistry
from lipsync.errors import EngineError
from lipsync.face import FaceCache
from lipsync.jobs import JobRunner
from lipsync.media import probe
from lipsync.naming import new_batch_dir, output_name, safe_stem
from lipsync.report import evaluate


def test_safe_names():
    assert safe_stem("../../etc/passwd") == "passwd"
    assert safe_stem("Dr. Müller 医生.mp4") == "Dr._Müller_医生"
    assert safe_stem("a;b|c`$(rm -rf ~)`.mov") == "a_b_c_rm_-rf"
    assert safe_stem("x" * 500 + ".mp4") == "x" * 60
    assert safe_stem("....") == "file"
    taken: set[str] = set()
    assert output_name("doc.mp4", "talk.wav", taken) == "doc__talk.mp4"
    assert output_name("doc.mp4", "talk.wav", taken) == "doc__talk_2.mp4"


def test_batch_dirs_are_unique(tmp_path):
    now = datetime(2026, 1, 2, 3, 4, 5)
    a, b = new_batch_dir(tmp_path, now), new_batch_dir(tmp_path, now)
    assert a.name == "20260102_030405" and b.name == "20260102_030405_2"


def test_runner_runs_one_at_a_time_in_order_and_survives_errors():
    runner = JobRunner()
    running, seen, order = [0], [], []
    lock = threading.Lock()

    def job(n):
        def fn(ticket):
            with lock:
                running[0] += 1
                seen.append(running[0])
            time.sleep(0.05)
            order.append(n)
            with lock:
                running[0] -= 1
            if n == 2:
                raise ValueError("boom")
            return n * 10
        return fn

    tickets = [runner.submit("t", job(n)) for n in range(5)]
    assert runner.position(tickets[4]) >= 1
    for t in tickets:
        assert t.wait(10)
    assert order == [0, 1, 2, 3, 4] and max(seen) == 1
    assert [t.state for t in tickets] == ["done", "done", "failed", "done", "done"]
    assert str(tickets[2].error) == "The job stopped unexpectedly: ValueError: boom" and tickets[3].result == 30
    assert runner.position(tickets[4]) == 0 and runner.get(tickets[1].id) is tickets[1]


def test_template_report_verdicts(tmp_path):
    cache = FaceCache(tmp_path)
    good = probe(shared("v4_retalk_face5.mp4"))
    report = evaluate(good, cache.get(good, Fraction(25)))
    assert report.verdict == "good" and report.mouth_moves and report.speech_share > 0.5
    text = report.to_markdown()
    assert "GOOD" in text and "looks straight at the camera" in text and "face widths" not in text
    # 4.9 s of talking offers few mouths to choose from; 8 s is enough
    assert [m.key for m in report.advice] == ["advice.longer_template"] and "10 seconds" in text
    longer = probe(shared("v8_sadtalker_hdtf_katiehill.mp4"))
    r8 = evaluate(longer, cache.get(longer, Fraction(25)))
    assert r8.mouth_moves and r8.seconds >= 8 and "advice.longer_template" not in [m.key for m in r8.advice]
    silent = probe(shared("v7_liveportrait_d13_720p_noaudio.mp4"))
    quiet = evaluate(silent, cache.get(silent, silent.fps)).to_markdown()
    assert "The video has no sound" in quiet and "0%" not in quiet.split("sound")[1]
    small = probe(shared("p2_hallo7.jpg"))
    r2 = evaluate(small, cache.get(small, Fraction(25)))
    assert r2.is_photo and r2.width == 1920  # big photos are scaled down to 1920 px


def test_registry_unknown_engine(tmp_path):
    reg = EngineRegistry(Settings(data_dir=tmp_path))
    with pytest.raises(EngineError, match="Unknown engine 'nope'.*builtin"):
        reg.get("nope")
    assert reg.get("builtin") is reg.get("builtin")
    assert set(reg.names()) >= {"builtin", "wav2lip"}


def test_startup_cleanup_keeps_live_work_and_removes_leftovers(tmp_path):
    import subprocess

    from lipsync.studio import Studio

    settings = Settings(outputs_dir=tmp_path / "out", data_dir=tmp_path / "data")
    dead = subprocess.Popen(["true"])
    dead.wait()
    (settings.work_dir / f"job-{dead.pid}-abc").mkdir(parents=True)
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        (settings.work_dir / f"job-{sleeper.pid}-xyz").mkdir()
        (settings.outputs_dir / "20260101_000000").mkdir(parents=True)
        partial = settings.outputs_dir / "20260101_000000" / ".a__b.partial.mp4"
        partial.write_bytes(b"half")
        Studio(settings).recover()
        assert not (settings.work_dir / f"job-{dead.pid}-abc").exists()
        assert (settings.work_dir / f"job-{sleeper.pid}-xyz").exists()
        assert not partial.exists()
    finally:
        sleeper.kill()


def test_overlap_keeps_order_bounds_memory_and_passes_errors_on():
    import threading

    from lipsync.overlap import Sink, prefetch

    ahead = []

    def numbers(n, fail_at=None):
        for i in range(n):
            ahead.append(i)
            if i == fail_at:
                raise ValueError(f"bad frame {i}")
            yield i

    got = []
    for i in prefetch(numbers(50), depth=4):
        got.append(i)
        assert ahead[-1] - i <= 4 + 1  # never more than the queue ahead (plus the one being put)
    assert got == list(range(50))
    with pytest.raises(ValueError, match="bad frame 7"):
        list(prefetch(numbers(20, fail_at=7), depth=3))
    closed = threading.Event()

    def endless():
        try:
            while True:
                yield 1
        finally:
            closed.set()

    for _ in zip(range(5), prefetch(endless(), depth=2)):
        pass
    assert closed.wait(5)  # stopping early stops and closes the producer

    out = []
    sink = Sink(out.append, depth=3)
    for i in range(100):
        sink.put(i)
    sink.close()
    assert out == list(range(100))
    broken = Sink(lambda i: 1 / (i - 5), depth=2)
    with pytest.raises(ZeroDivisionError):
        for i in range(20):
            broken.put(i)
        broken.close()
