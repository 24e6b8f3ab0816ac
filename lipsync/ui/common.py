"""Pieces every tab uses: engine choices, file types, the wait-for-a-ticket loop."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pandas as pd

from ..engines import specs
from ..jobs import Ticket
from ..views import BatchView

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GPU = "gpu"  # one concurrency id for every event that uses the machine: they run one at a time
# what the file pickers offer; the content decides in the end (a renamed file gets a clear message)
TEMPLATE_TYPES = [".mp4", ".mov", ".avi", ".mkv", ".webm", ".flv", ".m4v", ".jpg", ".jpeg", ".png", ".webp"]
ITEM_COLUMNS = ["#", "template", "audio", "status", "details"]
POLL_S = 0.5  # how often a waiting page is refreshed

T = TypeVar("T")


def engine_choices() -> list[tuple[str, str]]:
    return [(s.label, s.name) for s in specs()]


def engine_note(name: str) -> str:
    """The chosen engine's description and licence."""
    spec = next((s for s in specs() if s.name == name), None)
    return f"{spec.description}  \n*Licence: {spec.licence}*" if spec else ""


def item_rows(view: BatchView) -> pd.DataFrame:
    """The items table of a batch view."""
    return pd.DataFrame([[i.index, i.template, i.audio, i.shown, i.details] for i in view.items],
                        columns=ITEM_COLUMNS)


def follow(ticket: Ticket, render: Callable[[Ticket], T]) -> Iterator[T]:
    """Yield ``render(ticket)`` while the job waits and runs, and once more when it has finished."""
    while not ticket.wait(POLL_S):
        yield render(ticket)
    yield render(ticket)
