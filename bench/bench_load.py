"""Load benchmark: 20 clients at once (10 gradio_client, 10 plain HTTP) submitting short jobs to the
real app. Prints jobs/minute, p50/p95 latency (queue wait + work), peak server memory, 5xx count,
whether every job ran exactly once and one at a time."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from _common import ROOT, machine, need

sys.path.insert(0, str(ROOT / "tests"))
from conftest import make, start_app  # noqa: E402
from loadgen import peak_rss_mb, run_load  # noqa: E402


def main() -> None:
    print(f"load benchmark on {machine()}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        audio = make(["-i", str(need("a5_zh_bus.wav")), "-t", "2.0"], tmp / "two_seconds.wav")
        proc, url = start_app(tmp)
        try:
            res = run_load(url, tmp / "data", audio, need("p3_sadtalker_people0.png"), n_gradio=10, n_http=10)
            rss = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)
    ok = sum(s == "done" for s in res.statuses)
    print("  20 clients (10 gradio_client + 10 HTTP), 2 s audio + photo each:")
    print(f"  completed {ok}/20 in {res.seconds:.1f} s = {res.jobs_per_minute:.1f} jobs/minute")
    print(f"  latency p50 {res.pct(50):.1f} s, p95 {res.pct(95):.1f} s (queue wait + work)")
    print(f"  5xx responses: {sum(c >= 500 for c in res.http_codes)}; history rows {len(res.rows)} "
          f"(done {sum(r[0] == 'done' for r in res.rows)}); overlapping jobs {res.overlaps()}; "
          f"highest queue position seen {res.max_rank_seen}")
    print(f"  server peak memory {rss:.0f} MB")


if __name__ == "__main__":
    main()
