"""Fetch engine weights ahead of time: ``python -m lipsync.download`` (for machines that will be offline)."""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from .config import Settings
from .engines.wav2lip import LICENCE
from .engines.wav2lip.weights import WeightsSource, ensure_weights
from .errors import LipsyncError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lipsync.download", description="Download Wav2Lip weights once.")
    p.add_argument("--repo", default=None,
                   help="Hugging Face repo id (default: $LIPSYNC_WAV2LIP_REPO or camenduru/Wav2Lip)")
    p.add_argument("--file", default=None, help="file in the repo (default: checkpoints/wav2lip_gan.pth)")
    p.add_argument("--to", type=Path, default=None, help="checkpoints folder (default: checkpoints/)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    base = WeightsSource()
    source = replace(base, repo_id=args.repo or base.repo_id, filename=args.file or base.filename)
    folder = args.to or Settings().checkpoints_dir
    print(LICENCE)
    try:
        path = ensure_weights(folder, source)
    except LipsyncError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"ready: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
