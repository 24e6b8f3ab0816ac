"""Review before publishing: each finished video is "to review" until someone approves or rejects it
(with an optional note and, when login is on, their name); counts per batch; the approved-only ZIP."""
from __future__ import annotations

import json
import zipfile
from datetime import datetime
from pathlib import Path

from .errors import LipsyncError
from .files import atomic_path
from .jobs.store import REVIEW_STATES, JobStore, review_counts
from .qc import QcReport


class Reviews:
    """Review decisions, kept in the job history (so they survive a restart)."""

    def __init__(self, store: JobStore, outputs_dir: Path):
        self.store, self.outputs_dir = store, outputs_dir

    def decide(self, job_id: str, decision: str, note: str = "", reviewer: str | None = None) -> dict:
        """Record a decision on a finished video; returns its history row. Raises LipsyncError when the
        decision is not one of REVIEW_STATES or the job has no finished video."""
        if decision not in REVIEW_STATES:
            raise LipsyncError("err.bad_decision", decision=decision, choices=", ".join(REVIEW_STATES))
        row = self.store.get(job_id)
        if row is None or row["status"] != "done":
            raise LipsyncError("err.nothing_to_review", job=job_id)
        self.store.update(job_id, review=decision, review_note=(note or "").strip() or None, reviewer=reviewer,
                          reviewed=datetime.now().isoformat(timespec="seconds"))
        return self.store.get(job_id)

    def counts(self, batch: str) -> dict[str, int]:
        """How many finished videos of a batch are in each review state."""
        return review_counts((row["status"], row["review"]) for row in self.store.batch_rows(batch))

    def approved_zip(self, batch: str) -> Path | None:
        """``<batch>/<batch>_approved.zip`` with exactly the approved videos (None when there are none)."""
        folder = self.outputs_dir / batch
        rows = [r for r in self.store.batch_rows(batch) if r["status"] == "done" and r["review"] == "approved"]
        approved = [Path(r["output"]) for r in rows if r["output"] and Path(r["output"]).is_file()]
        target = folder / f"{folder.name}_approved.zip"
        if not approved:
            target.unlink(missing_ok=True)
            return None
        with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            for video in approved:
                z.write(video, video.name)
        return target


def qc_of(row: dict) -> QcReport | None:
    """The quality check stored with a history row."""
    return QcReport.from_dict(json.loads(row["qc"])) if row.get("qc") else None
