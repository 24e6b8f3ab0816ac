"""Submit a batch to a running Lip-sync studio with gradio_client and download the results.

Usage: python examples/client_batch.py AUDIO TEMPLATE [TEMPLATE ...] [--url http://127.0.0.1:7860/] [--out results]
"""
from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")  # gradio_client would otherwise call huggingface.co

from gradio_client import Client, handle_file  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("audio")
    ap.add_argument("templates", nargs="+")
    ap.add_argument("--url", default="http://127.0.0.1:7860/")
    ap.add_argument("--engine", default="builtin")
    ap.add_argument("--out", type=Path, default=Path("results"))
    args = ap.parse_args()
    client = Client(args.url, verbose=False)
    job = client.submit(handle_file(args.audio), [handle_file(t) for t in args.templates], [], args.engine,
                        api_name="/batch")
    summary, table, videos, downloads, items = job.result()
    print(summary)
    for item in items:  # each video's status, automatic check and review state
        print(item["template"], item["status"], (item["qc"] or {}).get("verdict", ""), item["review"], sep="\t")
    args.out.mkdir(parents=True, exist_ok=True)
    for f in downloads or []:
        shutil.copy(f, args.out / Path(f).name)
        print("saved", args.out / Path(f).name)


if __name__ == "__main__":
    main()
