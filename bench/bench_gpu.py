"""Wav2Lip on a GPU: output frames/s end to end and generator-only for batch sizes 16, 64, 128 and the
memory-based choice (fp16), and a batch of 10 videos against 10 one-by-one runs. Without CUDA it says so;
on any machine it also reports the gain of overlapping decode / engine / encode (old: in turn).

    .venv/bin/python bench/bench_gpu.py
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, need


def overlap_gain(runs: int = 3) -> None:
    """The same built-in job with decode and encode in turn (old) and overlapped (new)."""
    from lipsync import Settings, Studio

    template, audio = need("v4_retalk_face5.mp4"), need("a1_en_hdtf_radio34.wav")
    with tempfile.TemporaryDirectory() as tmp:
        studio = Studio(Settings(outputs_dir=Path(tmp) / "o", data_dir=Path(tmp) / "d", min_free_gb=0))
        times: dict[bool, list[float]] = {False: [], True: []}
        for overlap in (False, True):
            studio.generate(audio, template, studio.options("builtin", overlap=overlap, qc=False))  # warm-up
        for _ in range(runs):
            for overlap in (False, True):
                t0 = time.perf_counter()
                item = studio.generate(audio, template, studio.options("builtin", overlap=overlap, qc=False))
                times[overlap].append(time.perf_counter() - t0)
        frames = item.result.frames
    old, new = statistics.median(times[False]), statistics.median(times[True])
    print(f"CPU, built-in, {template.name} ({frames} frames), median of {runs}: in turn (old) {frames / old:.1f} "
          f"frames/s, overlapped (new) {frames / new:.1f} frames/s ({100 * (old - new) / old:+.1f}% time)")


def gpu(device: str = "cuda") -> None:
    """Generator-only and end-to-end frames/s per batch size, and batch-of-10 vs one-by-one."""
    import numpy as np
    import torch

    from lipsync import Settings, Studio

    ckpt = Path("checkpoints")
    studio = Studio(Settings(device=device, checkpoints_dir=ckpt, min_free_gb=0))
    engine = studio.engines.get("wav2lip")
    memory_batch = engine.batch_size
    template, audio = need("v4_retalk_face5.mp4"), need("a1_en_hdtf_radio34.wav")
    for bs in (16, 64, 128, memory_batch):
        mels = np.random.rand(bs, 1, 80, 16).astype(np.float32)
        faces = np.random.rand(bs, 6, 96, 96).astype(np.float32)
        engine._forward(mels, faces)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(10):
            engine._forward(mels, faces)
        torch.cuda.synchronize()
        gen = 10 * bs / (time.perf_counter() - t0)
        engine.batch_size = bs
        t0 = time.perf_counter()
        item = studio.generate(audio, template, studio.options("wav2lip", qc=False))
        end_to_end = item.result.frames / (time.perf_counter() - t0)
        print(f"batch {bs:4d}{' (memory)' if bs == memory_batch else ''}: generator {gen:8.1f} frames/s, "
              f"end to end {end_to_end:6.1f} frames/s")
    engine.batch_size = memory_batch
    t0 = time.perf_counter()
    for _ in range(10):
        studio.generate(audio, template, studio.options("wav2lip", qc=False))
    one_by_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    studio.generate_batch([audio], [template] * 10, studio.options("wav2lip", qc=False))
    batch = time.perf_counter() - t0
    print(f"10 videos one by one {one_by_one:.1f} s, as one batch {batch:.1f} s "
          f"({100 * (one_by_one - batch) / one_by_one:+.1f}%)")


def main() -> None:
    import torch

    print(f"machine: {machine()}")
    overlap_gain()
    if not torch.cuda.is_available():
        print("no CUDA GPU on this machine: the GPU measurements need one (nothing else to do)")
        return
    gpu()


if __name__ == "__main__":
    main()
    sys.exit(0)
