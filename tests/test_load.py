"""A short load test: clients at once through gradio_client and HTTP; every job completes, exactly
once, one at a time, no 5xx, queue positions reported, memory bounded."""
import subprocess

import pytest
from conftest import make, shared, start_app
from loadgen import peak_rss_mb, run_load

pytestmark = pytest.mark.slow


def test_mixed_clients_at_once(tmp_path):
    audio = make(["-i", str(shared("a5_zh_bus.wav")), "-t", "1.0"], tmp_path / "one_second.wav")
    proc, url = start_app(tmp_path)
    try:
        res = run_load(url, tmp_path / "data", audio, shared("p3_sadtalker_people0.png"), n_gradio=4, n_http=4)
        assert res.statuses == ["done"] * 8, res.statuses
        assert all(code == 200 for code in res.http_codes)
        assert len(res.rows) == 8 and {r[0] for r in res.rows} == {"done"}  # each run exactly once
        assert res.overlaps() == 0  # one at a time on the device
        assert res.max_rank_seen >= 1  # waiting clients were told their queue position
        assert peak_rss_mb(proc.pid) < 3000
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:  # a loaded machine: shutting down is not what this test measures
            proc.kill()
            proc.wait(10)
