"""Cost of the automatic quality check: the same 512x512 job with the check off (the old way) and on,
interleaved, after a warm-up; prints the median job time of each and the extra share.

    .venv/bin/python bench/bench_qc.py [runs]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, need


def main(runs: int = 5) -> None:
    from lipsync import Settings, Studio

    template, audio = need("v4_retalk_face5.mp4"), need("a1_en_hdtf_radio34.wav")
    with tempfile.TemporaryDirectory() as tmp:
        studio = Studio(Settings(outputs_dir=Path(tmp) / "out", data_dir=Path(tmp) / "data"))
        times: dict[bool, list[float]] = {False: [], True: []}
        for qc in (False, True):  # warm-up: face analysis and phones cached, models loaded
            studio.generate(audio, template, studio.options("builtin", qc=qc))
        for _ in range(runs):
            for qc in (False, True):
                t0 = time.perf_counter()
                item = studio.generate(audio, template, studio.options("builtin", qc=qc))
                times[qc].append(time.perf_counter() - t0)
                assert item.status == "done", item.error
        frames = item.result.frames
    off, on = statistics.median(times[False]), statistics.median(times[True])
    print(f"machine: {machine()}")
    print(f"job: {template.name} (512x512) + {audio.name}, {frames} frames, median of {runs}")
    print(f"quality check off (old): {off:.2f} s   on (new): {on:.2f} s   extra: {100 * (on - off) / off:.1f}%")
    print(f"verdict of the last run: {item.result.qc.verdict}, sync {item.result.qc.sync}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
