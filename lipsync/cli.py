"""Command line: ``python -m lipsync --audio A --video V1 V2 ... [--engine] [--out]``."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from .batch import BatchProgress
from .config import Settings
from .errors import LipsyncError
from .logs import setup_logging
from .process import init_process
from .studio import Studio


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lipsync",
                                description="Make template videos (or photos) say a new audio recording.")
    p.add_argument("--audio", "-a", nargs="+", required=True, help="audio file(s) (or videos to take the sound from)")
    p.add_argument("--video", "-v", nargs="+", required=True, help="template video(s) or photo(s)")
    p.add_argument("--engine", "-e", default=None, help="engine name (default: builtin, or $LIPSYNC_ENGINE)")
    p.add_argument("--out", "-o", type=Path, default=None,
                   help="output folder (default: a new outputs/YYYYMMDD_HHMMSS folder)")
    p.add_argument("--crf", type=int, default=13, help="video quality, lower is better (default 13: near-transparent)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a batch; exit code 1 when any item failed, 2 on bad arguments."""
    args = build_parser().parse_args(argv)
    init_process()
    settings = Settings()
    setup_logging(settings.data_dir / "logs", console=logging.WARNING)
    studio = Studio(settings)  # the same history as the web app when pointed at the same data folder
    try:
        options = studio.options(args.engine, crf=args.crf)
    except LipsyncError as e:
        sys.stderr.write(f"{e}\n")
        return 2
    n_items = len(args.audio) * len(args.video)
    bar = tqdm(total=n_items, unit="video", disable=args.quiet, dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {n:.2f}/{total} [{elapsed}<{remaining}]")

    def on_progress(p: BatchProgress) -> None:
        bar.n = round(p.overall * n_items, 2)
        bar.set_description_str(f"{p.item + 1}/{p.n_items} {p.stage}")
        bar.refresh()

    batch = studio.generate_batch(args.audio, args.video, options, progress=on_progress, folder=args.out)
    bar.n = n_items
    bar.close()
    out = sys.stdout
    rows = [("status", "template", "audio", "seconds", "output / error")]
    for item in batch.items:
        rows.append((item.status, item.template, item.audio, f"{item.seconds:.1f}",
                     str(item.output) if item.output else (item.error or "")))
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    for r in rows:
        out.write("  ".join(r[c].ljust(widths[c]) for c in range(4)) + "  " + r[4] + "\n")
    out.write(f"\n{len(batch.done)} done, {len(batch.failed)} failed. Folder: {batch.folder}\n")
    return 1 if batch.failed else 0
