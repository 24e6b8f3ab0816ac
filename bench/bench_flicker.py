"""The quality check's mouth-jump rule, old and new side by side on the same measurements.

Three kinds of video, each measured once by the check itself (the per-frame change of the head-aligned
mouth crop that ``QcMeter`` records), then judged by both rules:

* real speakers (v1, v3, v4, v8 and five gt_pairs clips) as recorded: nothing should be marked;
* the same clips cut into shuffled pieces of 4-7 and 8-15 frames: the mouth jumps at every cut;
* videos made from photos by the built-in engine (the check as it runs inside the job): only the warped
  mouth moves, so the old rule marked ordinary quick lip closures.

A video is marked ("check") when more than ``flicker_check`` of its frames are jumps.

Usage: python bench/bench_flicker.py
"""
from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import ROOT, SHARED, machine

from lipsync import Settings, Studio
from lipsync import qc as Q
from lipsync.media import VideoWriter, iter_video_frames, probe

OLD = replace(Q.QC, flicker_typical=0.0)  # before 2026-11-25: against the neighbouring frames only
RULES = {"old": OLD, "new": Q.QC}
REAL = ["v1_retalk_face1.mp4", "v3_retalk_face4.mp4", "v4_retalk_face5.mp4", "v8_sadtalker_hdtf_katiehill.mp4"]
PHOTOS = [("p1_hallo6.jpg", "a5_zh_bus.wav"), ("p1_hallo6.jpg", "a7_ja.wav"), ("p2_hallo7.jpg", "a2_en_retalk1.wav"),
          ("p3_sadtalker_people0.png", "a1_en_hdtf_radio34.wav"), ("p3_sadtalker_people0.png", "a4_zh_news.wav")]


class Recorder:
    """Keeps the per-frame mouth change of every check that finishes (the job's own and ``check_video``'s)."""

    def __init__(self):
        self.changes: list[np.ndarray] = []
        self._finish = Q.QcMeter.finish

    def __enter__(self) -> "Recorder":
        recorder = self

        def finish(meter, *args, **kwargs):
            recorder.changes.append(meter.change.copy())
            return recorder._finish(meter, *args, **kwargs)

        Q.QcMeter.finish = finish
        return self

    def __exit__(self, *exc) -> None:
        Q.QcMeter.finish = self._finish


def shuffled(video: Path, out: Path, shortest: int, rng: np.random.Generator) -> Path:
    """The video cut into pieces of ``shortest`` to 2x``shortest``-1 frames, played in shuffled order."""
    info = probe(video)
    frames = list(iter_video_frames(info, info.fps))  # short clips (< 15 s)
    pieces, i = [], 0
    while i < len(frames):
        n = int(rng.integers(shortest, 2 * shortest))
        pieces.append(frames[i:i + n])
        i += n
    with VideoWriter(out, (info.width, info.height), info.fps, video, info.duration, crf=16) as writer:
        for k in rng.permutation(len(pieces)):
            for frame in pieces[k]:
                writer.write(frame)
        writer.close()
    return out


def measure(tmp: Path) -> dict[str, list[np.ndarray]]:
    """Per kind of video, the per-frame mouth changes the check measured."""
    rng = np.random.default_rng(0)
    reals = [SHARED / n for n in REAL] + sorted((SHARED / "gt_pairs").glob("*_gt.mp4"))[:5]
    kinds: dict[str, list[np.ndarray]] = {"real": [], "cut 4-7": [], "cut 8-15": [], "photo": []}
    with Recorder() as rec:
        for video in reals:
            Q.check_video(video)
            for shortest, kind in ((4, "cut 4-7"), (8, "cut 8-15")):
                Q.check_video(shuffled(video, tmp / f"{kind[4:]}_{video.name}", shortest, rng))
            kinds["real"].append(rec.changes[-3])
            kinds["cut 4-7"].append(rec.changes[-2])
            kinds["cut 8-15"].append(rec.changes[-1])
            print(f"  measured {video.name}", flush=True)
        studio = Studio(Settings(outputs_dir=tmp / "out", data_dir=tmp / "data"))
        demo = ROOT / "examples"
        jobs = [(SHARED / a, SHARED / p) for p, a in PHOTOS] + [(demo / "demo_speech.wav", demo / "demo_face.png")]
        for audio, photo in jobs:
            item = studio.generate(audio, photo)
            assert item.status == "done", item.error
            kinds["photo"].append(rec.changes[-1])
            print(f"  made and measured {photo.name} + {audio.name}", flush=True)
    return kinds


def main() -> None:
    print(f"the quality check's mouth-jump rule, old and new, on {machine()}")
    with tempfile.TemporaryDirectory() as d:
        kinds = measure(Path(d))
    print("\nshare of frames marked as jumps: mean / largest; videos marked (over "
          f"{Q.QC.flicker_check:.0%} of frames) / videos")
    for kind, changes in kinds.items():
        cells = []
        for label, rule in RULES.items():
            shares = np.array([Q.flicker_frames(c, rule).mean() for c in changes])
            cells.append(f"{label} {shares.mean():5.1%} / {shares.max():5.1%}, "
                         f"{int((shares > rule.flicker_check).sum())} of {len(shares)} marked")
        print(f"  {kind:9s} " + "   ".join(cells))


if __name__ == "__main__":
    main()
