"""Pieces every tab uses: engine choices, file types, the wait-for-a-ticket loop."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, TypeVar

import gradio as gr
import pandas as pd

from ..config import JobOptions, Settings
from ..engines import specs
from ..errors import LipsyncError
from ..i18n import t
from ..jobs import Ticket
from ..jobs.audit import Actor
from ..studio import Studio
from ..views import BatchView, summary

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GPU = "gpu"  # one concurrency id for every event that uses the machine: they run one at a time
# what the file pickers offer; the content decides in the end (a renamed file gets a clear message)
TEMPLATE_TYPES = [".mp4", ".mov", ".avi", ".mkv", ".webm", ".flv", ".m4v", ".jpg", ".jpeg", ".png", ".webp"]
#: the items table of a batch: column keys (literal, for the catalogue test)
ITEM_COLUMNS = ["col.number", "col.template", "col.audio", "col.status", "col.qc", "col.details"]
POLL_S = 0.5  # how often a waiting page is refreshed

T = TypeVar("T")


def actor(request: gr.Request | None) -> Actor:
    """Who clicked: the login name (when login is on) and the browser's address, for the audit log."""
    if request is None:
        return Actor()
    client = getattr(request, "client", None)
    return Actor(getattr(request, "username", None), getattr(client, "host", None))


def columns(keys: list[str], lang: str) -> list[str]:
    """Table headers in ``lang``."""
    return [t(lang, k) for k in keys]


def engine_choices(settings: Settings, lang: str) -> list[tuple[str, str]]:
    """Engine names to pick from; one that cannot run here says so in its label."""
    return [(s.label.text(lang) + (t(lang, "engine.not_installed") if s.missing(settings) else ""), s.name)
            for s in specs()]


def engine_note(settings: Settings, name: str, lang: str) -> str:
    """The chosen engine's description and licence, or why it cannot run here and how to install it."""
    spec = next((s for s in specs() if s.name == name), None)
    if spec is None:
        return ""
    missing = spec.missing(settings)
    return f"**{missing.text(lang)}**" if missing else f"{spec.description.text(lang)}  \n*{spec.licence.text(lang)}*"


def ready_options(studio: Studio, engine: str, missing_input: str | None,
                  lang: str) -> tuple[JobOptions | None, str | None]:
    """The job options, or what stops the job from starting (a missing input first, then the engine),
    shown as a warning toast; the caller shows it in its status line too. ``missing_input`` is a key."""
    options, problem = None, t(lang, missing_input) if missing_input else None
    try:
        options = studio.options(engine)
    except LipsyncError as e:
        problem = problem or e.text(lang)
    if problem:
        gr.Warning(problem)
    return options, problem


def empty_items(lang: str) -> pd.DataFrame:
    """The items table before a batch: only its headers."""
    return pd.DataFrame(columns=columns(ITEM_COLUMNS, lang))


def empty_batch_outputs(message: str, lang: str) -> tuple:
    """Outputs of the batch view with only a message (no error badges on the other panels)."""
    return message, empty_items(lang), [], [], []


def item_rows(view: BatchView, lang: str) -> pd.DataFrame:
    """The items table of a batch view."""
    rows = [[i.index, i.template, i.audio, i.shown(lang), i.qc.text(lang) if i.qc else "", i.details(lang)]
            for i in view.items]
    return pd.DataFrame(rows, columns=columns(ITEM_COLUMNS, lang))


def follow(ticket: Ticket, render: Callable[[Ticket], T]) -> Iterator[T]:
    """Yield ``render(ticket)`` while the job waits and runs, and once more when it has finished."""
    while not ticket.wait(POLL_S):
        yield render(ticket)
    yield render(ticket)


def batch_outputs(view: BatchView, lang: str) -> tuple:
    """Summary (with every failure reason), items table, captioned videos, downloads (+ ZIP), and the
    items as JSON (hidden on the page; what scripts read)."""
    videos = [(str(i.output), i.template) for i in view.videos]
    downloads = [str(i.output) for i in view.videos] + ([str(view.zip_path)] if view.zip_path else [])
    return summary(view, lang), item_rows(view, lang), videos, downloads, [i.to_json() for i in view.items]
