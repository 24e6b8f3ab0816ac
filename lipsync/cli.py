"""Command line: ``python -m lipsync --audio A --video V1 V2 ... [--engine] [--out]``."""
from __future__ import annotations

import argparse
import logging
import sys
import unicodedata
from pathlib import Path

from tqdm import tqdm

from .batch import BatchProgress
from .config import Settings
from .errors import LipsyncError
from .i18n import from_environment, t
from .logs import setup_logging
from .process import init_process
from .studio import Studio
from .views import status_text


def build_parser(lang: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lipsync", description=t(lang, "cli.description"))
    p.add_argument("--audio", "-a", nargs="+", required=True, help=t(lang, "cli.audio"))
    p.add_argument("--video", "-v", nargs="+", required=True, help=t(lang, "cli.video"))
    p.add_argument("--engine", "-e", default=None, help=t(lang, "cli.engine"))
    p.add_argument("--out", "-o", type=Path, default=None, help=t(lang, "cli.out"))
    p.add_argument("--crf", type=int, default=13, help=t(lang, "cli.crf"))
    p.add_argument("--face", type=int, default=None, help=t(lang, "cli.face"))
    p.add_argument("--quiet", "-q", action="store_true", help=t(lang, "cli.quiet"))
    return p


def width(text: str) -> int:
    """Columns a text takes in a terminal (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(rows: list[tuple[str, ...]]) -> str:
    """Rows as aligned columns (the last column is left as it is)."""
    widths = [max(width(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
    return "".join("  ".join(r[c] + " " * (widths[c] - width(r[c])) for c in range(len(widths))) + "  " + r[-1]
                   + "\n" for r in rows)


def main(argv: list[str] | None = None) -> int:
    """Run a batch; exit code 1 when any item failed, 2 on bad arguments. Speaks the language of
    ``LC_ALL`` / ``LANG`` (zh_CN.* -> Chinese)."""
    lang = from_environment()
    args = build_parser(lang).parse_args(argv)
    init_process()
    settings = Settings()
    setup_logging(settings.data_dir / "logs", console=logging.WARNING)
    studio = Studio(settings)  # the same history as the web app when pointed at the same data folder
    try:
        options = studio.options(args.engine, crf=args.crf, face=args.face)
    except LipsyncError as e:
        sys.stderr.write(f"{e.text(lang)}\n")
        return 2
    n_items = len(args.audio) * len(args.video)
    bar = tqdm(total=n_items, unit="video", disable=args.quiet, dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {n:.2f}/{total} [{elapsed}<{remaining}]")

    def on_progress(p: BatchProgress) -> None:
        bar.n = round(p.overall * n_items, 2)
        bar.set_description_str(f"{p.item + 1}/{p.n_items} {status_text(p.stage, lang)}")
        bar.refresh()

    try:
        batch = studio.generate_batch(args.audio, args.video, options, progress=on_progress, folder=args.out)
    except LipsyncError as e:  # refused before any work (e.g. the disk is nearly full)
        bar.close()
        sys.stderr.write(f"{e.text(lang)}\n")
        return 2
    bar.n = n_items
    bar.close()
    rows = [tuple(t(lang, k) for k in ("col.status", "col.template", "col.audio", "col.seconds", "cli.result"))]
    for item in batch.items:
        rows.append((status_text(item.status, lang), item.template, item.audio, f"{item.seconds:.1f}",
                     str(item.output) if item.output else (item.error.text(lang) if item.error else "")))
    sys.stdout.write(table(rows))
    sys.stdout.write("\n" + t(lang, "cli.summary", done=len(batch.done), failed=len(batch.failed),
                              folder=batch.folder) + "\n")
    return 1 if batch.failed else 0
