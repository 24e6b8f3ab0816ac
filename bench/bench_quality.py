"""Articulation quality of the built-in engine against real speakers (issue 8). Prints numbers and
writes contact sheets; record the results in docs/BENCHMARKS.md.

Ground truth: real clips whose lips follow their audio (../shared/media/gt_pairs, ref_pairs and the
talking v* clips). Two protocols:

* video: the first half of the real clip is the template, the second half's audio drives it, and the
  output is compared with the real second half;
* photo: the clip's reference frame (ref.jpg) is the template, its whole audio drives it.

Both engines run in the same way (the CLI, in a fresh process): "old" from a git worktree of the
baseline commit, "new" from this checkout. Measures (MediaPipe on the output and on the real clip):
opening correlation on speech frames, width correlation, frame-to-frame change of the aligned mouth
crop relative to the real mouth, mouth sharpness relative to the template, and how often the mouth
snaps open and shut from one frame to the next (``quality.snap_share``, beside the real clip's).

Usage: python bench/bench_quality.py [--baseline COMMIT] [--cases NAME ...] [--sheets DIR]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from _common import BASELINE, ROOT, SHARED, baseline_worktree, machine, remove_worktree, speech_frames


@dataclass
class Case:
    name: str
    protocol: str          #: "video" or "photo"
    template: Path
    audio: Path
    truth: Path            #: the real speaker saying the driving audio


def _ff(args: list[str]) -> None:
    from lipsync.media import ffmpeg

    proc = ffmpeg.run(["-v", "error", "-y", *args])
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]


def make_cases(tmp: Path, wanted: list[str] | None) -> list[Case]:
    """Cut every real clip into (template, driving audio, truth) for both protocols."""
    from lipsync.media import probe

    clips = sorted((SHARED / "gt_pairs").glob("*_gt.mp4")) + sorted((SHARED / "ref_pairs").glob("*_gt.mp4"))
    clips += [SHARED / n for n in ("v8_sadtalker_hdtf_katiehill.mp4", "v4_retalk_face5.mp4",
                                    "v5_latentsync_demo2_1080p.mp4")]
    cases = []
    for clip in clips:
        if not clip.is_file():
            continue
        base = clip.name.replace("_gt.mp4", "").replace(".mp4", "")
        if wanted and not any(w in base for w in wanted):
            continue
        half = (probe(clip).duration or 0) / 2
        tpl, aud, truth = tmp / f"{base}_tpl.mp4", tmp / f"{base}_aud2.wav", tmp / f"{base}_truth.mp4"
        _ff(["-i", str(clip), "-t", f"{half:.3f}", "-an", "-c:v", "libx264", "-crf", "10", str(tpl)])
        _ff(["-ss", f"{half:.3f}", "-i", str(clip), "-vn", "-ac", "1", "-ar", "16000", str(aud)])
        _ff(["-ss", f"{half:.3f}", "-i", str(clip), "-an", "-c:v", "libx264", "-crf", "10", str(truth)])
        cases.append(Case(base, "video", tpl, aud, truth))
        ref = clip.with_name(base + "_ref.jpg")
        if ref.is_file():
            cases.append(Case(base, "photo", ref, clip.with_name(base + "_aud.mp3"), clip))
    return cases


def generate(code_root: Path, case: Case, out: Path, data: Path) -> Path:
    """Run the CLI of the given checkout on one case; returns the output video."""
    env = {**os.environ, "LIPSYNC_DATA": str(data), "PYTHONPATH": str(code_root)}
    proc = subprocess.run([sys.executable, "-m", "lipsync", "-q", "-a", str(case.audio), "-v",
                           str(case.template), "-o", str(out)], cwd=code_root, env=env,
                          capture_output=True, text=True)
    videos = sorted(out.glob("*.mp4"))
    if proc.returncode != 0 or not videos:
        raise RuntimeError(f"{case.name}: {proc.stdout[-1500:]} {proc.stderr[-1500:]}")
    return videos[0]


def template_sharpness(case: Case) -> float:
    from lipsync.quality import _mouth_sharpness, measure_mouths

    if case.protocol == "photo":
        from lipsync.face.analyse import FaceAnalyser

        img = cv2.imread(str(case.template))
        with FaceAnalyser(still=True) as fa:
            lm = fa.analyse(img)[0]
        return _mouth_sharpness(img, lm)
    return float(np.nanmean(measure_mouths(case.template).sharpness))


def scores(case: Case, video: Path, truth, sharp_tpl: float) -> dict:
    from lipsync.audio import load_audio
    from lipsync.media import probe
    from lipsync.quality import best_lag_correlation, measure_mouths, snap_share

    got = measure_mouths(video)
    speech = speech_frames(load_audio(case.audio).samples, float(probe(video).fps), got.opening.size)
    oc, olag = best_lag_correlation(got.opening, truth.opening, speech)
    wc, _ = best_lag_correlation(got.width, truth.width, speech)
    return {"open": oc, "lag": olag, "width": wc,
            "change": float(np.nanmean(got.change) / np.nanmean(truth.change)),
            "sharp": float(np.nanmean(got.sharpness) / sharp_tpl),
            "snaps": snap_share(got.opening), "snaps_real": snap_share(truth.opening)}


def contact_sheet(videos: list[Path], labels: list[str], out: Path, n: int = 10, size: int = 112) -> None:
    """Rows of mouth crops (one row per video, same frames), to look at by eye."""
    from lipsync.face import landmarks as L
    from lipsync.face.analyse import FaceAnalyser
    from lipsync.media import iter_video_frames, probe

    rows = []
    with FaceAnalyser() as fa:
        for v, label in zip(videos, labels):
            info = probe(v)
            total = int((info.duration or 1) * float(info.fps))
            pick = set(np.linspace(total * 0.1, total * 0.9, n).astype(int))
            cells = []
            for i, frame in enumerate(iter_video_frames(info, info.fps)):
                if i in pick:
                    lm = fa.analyse(frame)[0]
                    c = lm[L.UPPER_LIP_OUTER].mean(0) if lm is not None else np.array(frame.shape[1::-1]) / 2
                    r = int(0.45 * L.face_width(lm)) if lm is not None else 60
                    y0, x0 = max(0, int(c[1]) - r), max(0, int(c[0]) - r)
                    cells.append(cv2.resize(frame[y0:y0 + 2 * r, x0:x0 + 2 * r], (size, size)))
            while len(cells) < n:
                cells.append(np.zeros((size, size, 3), np.uint8))
            row = np.hstack(cells[:n])
            cv2.putText(row, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 255, 255), 1)
            rows.append(row)
    cv2.imwrite(str(out), np.vstack(rows))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", default=BASELINE)
    ap.add_argument("--cases", nargs="*", default=None, help="only clips whose name contains one of these")
    ap.add_argument("--protocol", choices=["video", "photo"], default=None)
    ap.add_argument("--sheets", type=Path, default=ROOT / "outputs" / "bench_quality")
    ap.add_argument("--no-old", action="store_true", help="only the current engine")
    args = ap.parse_args()
    from lipsync.quality import measure_mouths

    print(f"built-in engine quality against real speakers, on {machine()}")
    args.sheets.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cases = [c for c in make_cases(tmp, args.cases) if not args.protocol or c.protocol == args.protocol]
        roots = {"new": ROOT}
        if not args.no_old:
            roots = {"old": baseline_worktree(args.baseline, tmp / "baseline"), **roots}
        table: dict[str, list[dict]] = {k: [] for k in roots}
        try:
            for case in cases:
                truth = measure_mouths(case.truth)
                sharp = template_sharpness(case)
                outs = []
                for label, root in roots.items():
                    out = generate(root, case, tmp / f"{label}_{case.name}_{case.protocol}", tmp / f"data_{label}")
                    s = scores(case, out, truth, sharp)
                    table[label].append({"case": f"{case.name}/{case.protocol}", **s})
                    outs.append(out)
                    print(f"  {label:3s} {case.name:28s} {case.protocol:5s} opening r={s['open']:5.2f} "
                          f"(lag {s['lag']:+d})  width r={s['width']:5.2f}  change {s['change']:4.2f}x  "
                          f"sharpness {s['sharp']:4.2f}x  snaps {s['snaps']:4.0%} (real {s['snaps_real']:3.0%})",
                          flush=True)
                contact_sheet([case.truth, *outs], ["real", *roots], args.sheets /
                              f"{case.name}_{case.protocol}.png")
        finally:
            if "old" in roots:
                remove_worktree(roots["old"])
    print("\nmeans over cases (target: opening >= 0.5, width >= 0.35, change <= 1.2x, sharpness >= 0.9x)")
    for protocol in ("video", "photo", None):
        for label, rows in table.items():
            rows = [r for r in rows if protocol is None or r["case"].endswith("/" + protocol)]
            if rows:
                m = {k: float(np.nanmean([r[k] for r in rows]))
                     for k in ("open", "width", "change", "sharp", "snaps", "snaps_real")}
                print(f"  {label:3s} {protocol or 'all':5s} ({len(rows):2d} cases): opening r={m['open']:.2f}  "
                      f"width r={m['width']:.2f}  change {m['change']:.2f}x  sharpness {m['sharp']:.2f}x  "
                      f"snaps {m['snaps']:.1%} (real {m['snaps_real']:.1%})")
    print(f"contact sheets (rows: real, {', '.join(roots)}): {args.sheets}")


if __name__ == "__main__":
    main()
