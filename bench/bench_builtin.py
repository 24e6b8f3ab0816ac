"""Built-in engine benchmarks (issue: core pipeline). Prints numbers; record them in docs/BENCHMARKS.md.

1. End-to-end speed on 512x512 and 1080x1920 templates, first use and analysed, old and new engine.
2. Peak memory of a 10-minute job against a 1-minute job (fresh processes).
3. A batch of 10 templates x 1 audio in one process against 10 separate CLI runs.

Usage: python bench/bench_builtin.py [--skip-memory] [--skip-batch]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BASELINE, ROOT, baseline_worktree, long_speech, machine, need, remove_worktree, run_child

JOB = r"""
import json, resource, sys, time
from pathlib import Path
from lipsync import Studio, Settings
data, audio, tpl = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
s = Studio(Settings(outputs_dir=data / "out", data_dir=data / "data"))
t = time.perf_counter()
item = s.generate(audio, tpl)
assert item.status == "done", item.error
print(json.dumps({"seconds": time.perf_counter() - t, "frames": item.result.frames,
                  "timings": item.result.timings,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


SPEED_JOB = r"""
import json, sys, time
from pathlib import Path
from lipsync import Settings
try:
    from lipsync import Studio
except ImportError:  # the old way's checkout (before the Studio became the one API)
    from lipsync import LipsyncService as Studio
data, audio, tpl = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
s = Studio(Settings(outputs_dir=data / "out", data_dir=data / "data"))
runs = []
for _ in range(2):  # first use (face analysis included), then the template already analysed
    t = time.perf_counter()
    item = s.generate(audio, tpl)
    assert item.status == "done", item.error
    runs.append({"seconds": time.perf_counter() - t, "frames": item.result.frames,
                 "analysis_s": item.result.timings["analysis_s"], "mode": item.result.mode})
print(json.dumps(runs))
"""


def speed(tmp: Path, baseline: str | None) -> None:
    """Output frames/s end to end, old and new engine in fresh processes, 512x512 and 1080x1920."""
    audio = long_speech(30, tmp / "speech30.wav")
    roots = {"new": ROOT}
    if baseline:
        roots = {"old": baseline_worktree(baseline, tmp / "baseline"), **roots}
    try:
        for name, label in (("v8_sadtalker_hdtf_katiehill.mp4", "512x512 (v8)"),
                            ("v5_latentsync_demo2_1080p.mp4", "1080x1920 (v5)")):
            tpl = str(need(name))
            for who, root in roots.items():
                first, analysed = run_child(SPEED_JOB, str(tmp / f"speed_{who}_{name}"), str(audio), tpl,
                                            cwd=root)
                rate = analysed["frames"] / analysed["seconds"]
                print(f"  {who:3s} {label:15s} {analysed['mode']:6s}: analysed {rate:5.1f} "
                      f"frames/s; first use {first['frames'] / first['seconds']:5.1f} frames/s "
                      f"(analysis {first['analysis_s']:.1f} s)", flush=True)
    finally:
        if baseline:
            remove_worktree(roots["old"])


def memory(tmp: Path) -> None:
    tpl = str(need("v8_sadtalker_hdtf_katiehill.mp4"))
    results = {}
    for minutes in (1, 10):
        audio = long_speech(60 * minutes, tmp / f"speech{minutes}m.wav")
        results[minutes] = run_child(JOB, str(tmp / f"mem{minutes}"), str(audio), tpl)
        r = results[minutes]
        print(f"  {minutes:2d}-minute job: peak RSS {r['peak_rss_mb']:7.1f} MB, {r['frames']} frames in "
              f"{r['seconds']:.0f} s ({r['frames'] / r['seconds']:.1f} frames/s)")
    print(f"  ratio 10 min / 1 min peak memory: {results[10]['peak_rss_mb'] / results[1]['peak_rss_mb']:.3f} "
          f"(target <= 1.2)")


def make_templates(tmp: Path, n: int) -> list[Path]:
    """n different 512x512 talking templates (different stretches of real clips)."""
    from lipsync.media import ffmpeg

    sources = ["v8_sadtalker_hdtf_katiehill.mp4", "v6_liveportrait_d12_headmove.mp4", "v4_retalk_face5.mp4"]
    out = []
    for i in range(n):
        src = need(sources[i % len(sources)])
        path = tmp / f"tpl{i:02d}.mp4"
        ffmpeg.run(["-v", "error", "-y", "-ss", str(0.3 * i), "-i", str(src), "-t", "4", "-vf",
                    "scale=512:512", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", str(path)])
        out.append(path)
    return out


def batch_vs_separate(tmp: Path, n: int = 10) -> None:
    tpls = make_templates(tmp, n)
    audio = need("a5_zh_bus.wav")
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "lipsync", "-q", "-a", str(audio), "-v", *map(str, tpls),
                        "-o", str(tmp / "batch_out")], cwd=ROOT, env={"LIPSYNC_DATA": str(tmp / "d1"),
                                                                     "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True)
    one = time.perf_counter() - t
    assert r.returncode == 0, r.stderr[-2000:]
    t = time.perf_counter()
    for i, tpl in enumerate(tpls):
        r = subprocess.run([sys.executable, "-m", "lipsync", "-q", "-a", str(audio), "-v", str(tpl),
                            "-o", str(tmp / f"sep{i}")], cwd=ROOT,
                           env={"LIPSYNC_DATA": str(tmp / "d2"), "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
    sep = time.perf_counter() - t
    print(f"  {n} templates x 1 audio (3.4 s): one batch process {one:.1f} s, {n} separate CLI runs {sep:.1f} s, "
          f"speed-up {sep / one:.2f}x (target >= 2)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--baseline", default=BASELINE, help="commit of the old engine ('' = only the new one)")
    args = ap.parse_args()
    print(f"built-in engine benchmark on {machine()}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print("end-to-end speed, 30 s audio, old and new engine (fresh processes):")
        speed(tmp, args.baseline or None)
        if not args.skip_batch:
            print("batch against separate runs:")
            batch_vs_separate(tmp)
        if not args.skip_memory:
            print("memory against job length (fresh processes):")
            memory(tmp)


if __name__ == "__main__":
    main()
