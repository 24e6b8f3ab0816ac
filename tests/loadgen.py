"""Load generator: many clients at once (gradio_client and plain HTTP) against a running app.
Used by tests/test_load.py (short) and bench/bench_load.py (20 clients)."""
from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)     #: per client: "done" or an error
    http_codes: list[int] = field(default_factory=list)
    max_rank_seen: int = -1                                 #: highest queue position a gradio client saw
    rows: list[tuple] = field(default_factory=list)         #: (status, started, finished) from the history

    @property
    def jobs_per_minute(self) -> float:
        return len(self.latencies) / self.seconds * 60

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) if self.latencies else float("nan")

    def overlaps(self) -> int:
        """How many jobs started before the previous one finished (0 = strictly one at a time)."""
        spans = sorted((s, f) for _, s, f in self.rows if s and f)
        return sum(1 for (s0, f0), (s1, _) in zip(spans, spans[1:]) if s1 < f0)


WAITING = re.compile(r"Waiting in the queue: (\d+) job")


def run_load(url: str, data_dir: Path, audio: Path, template: Path, n_gradio: int, n_http: int) -> LoadResult:
    """Start all clients at once; each submits one short job and waits for its video."""
    from gradio_client import Client, handle_file

    result = LoadResult(seconds=0.0)
    lock = threading.Lock()
    go = threading.Event()

    def gradio_client_job():
        client = Client(url, verbose=False)
        go.wait()
        t0 = time.time()
        try:
            job = client.submit(handle_file(str(audio)), handle_file(str(template)), "builtin", api_name="/single")
            while not job.done():
                # the studio's runner orders every job and says how many wait before this one
                for status_text, *_ in job.outputs():
                    m = WAITING.search(status_text or "")
                    if m:
                        with lock:
                            result.max_rank_seen = max(result.max_rank_seen, int(m.group(1)))
                time.sleep(0.2)
            status, _, file = job.result()
            ok = "done" if status.startswith("**Done**") and file else status
        except Exception as e:
            ok = f"{type(e).__name__}: {e}"
        with lock:
            result.latencies.append(time.time() - t0)
            result.statuses.append(ok)

    def http_job():
        go.wait()
        t0 = time.time()
        try:
            r = requests.post(url + "api/v1/generate/single", timeout=900,
                              files={"audio": open(audio, "rb"), "video": open(template, "rb")})
            code = r.status_code
            ok = "done" if code == 200 and requests.get(r.json()["download_url"]).status_code == 200 else r.text[:200]
        except Exception as e:
            code, ok = 0, f"{type(e).__name__}: {e}"
        with lock:
            result.latencies.append(time.time() - t0)
            result.statuses.append(ok)
            result.http_codes.append(code)

    threads = [threading.Thread(target=gradio_client_job) for _ in range(n_gradio)] + \
              [threading.Thread(target=http_job) for _ in range(n_http)]
    for t in threads:
        t.start()
    time.sleep(2.0)  # let the gradio clients connect first
    start = time.time()
    go.set()
    for t in threads:
        t.join(timeout=1800)
    result.seconds = time.time() - start
    with sqlite3.connect(data_dir / "jobs.sqlite3") as c:
        result.rows = c.execute("SELECT status, started, finished FROM jobs").fetchall()
    return result


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
