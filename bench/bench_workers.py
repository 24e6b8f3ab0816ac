"""Throughput of the scale-out mode against the embedded one, on this machine, in one run:
the same batch (N short items) embedded, with 1 worker and with 2 workers (real redis-server, real
worker processes), after a warm-up; and the broker's overhead per item.

    .venv/bin/python bench/bench_workers.py [items]
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, machine

EXAMPLES = ROOT / "examples"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _batch_seconds(studio, items: int) -> float:
    t0 = time.perf_counter()
    ticket = studio.submit([EXAMPLES / "demo_speech.wav"], [EXAMPLES / "demo_face.png"] * items)
    ticket.wait()
    assert all(i.status == "done" for i in ticket.result.items), [str(i.error) for i in ticket.result.items]
    return time.perf_counter() - t0


def _workers(url: str, n: int, tmp: Path) -> list[subprocess.Popen]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "lipsync.worker", "--broker", url, "--name", f"b{k}",
                               "--device", "cpu"], env={**env, "LIPSYNC_DATA": str(tmp / f"b{k}")},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for k in range(n)]
    return procs


def main(items: int = 8) -> None:
    from lipsync import Settings, Studio
    from lipsync.worker import HEARTBEAT_TTL_S

    port = _port()
    redis = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            embedded = Studio(Settings(outputs_dir=tmp / "e", data_dir=tmp / "ed", min_free_gb=0))
            _batch_seconds(embedded, 1)  # warm-up
            results["embedded"] = _batch_seconds(embedded, items)
            for n in (1, 2):
                procs = _workers(url, n, tmp)
                studio = Studio(Settings(outputs_dir=tmp / f"o{n}", data_dir=tmp / f"d{n}", broker_url=url,
                                         min_free_gb=0))
                while len(studio.remote.workers()) < n:
                    time.sleep(0.5)
                _batch_seconds(studio, n)  # warm-up: each worker loads its engine and caches once
                results[f"{n} worker(s)"] = _batch_seconds(studio, items)
                for p in procs:
                    p.kill()
                    p.wait()
                time.sleep(HEARTBEAT_TTL_S + 1)  # the killed workers' announcements expire first
    finally:
        redis.kill()
    print(f"machine: {machine()}")
    print(f"batch of {items} items (demo_face.png + demo_speech.wav), warm")
    for name, seconds in results.items():
        print(f"{name:12s} {seconds:6.2f} s   {60 * items / seconds:6.1f} items/min   {seconds / items:5.2f} s/item")
    overhead = results["1 worker(s)"] / items - results["embedded"] / items
    print(f"broker overhead per item (1 worker vs embedded): {overhead:+.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
