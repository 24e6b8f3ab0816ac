"""The Gradio web UI: one module per tab, each a thin shell over the Studio."""
from __future__ import annotations

from functools import partial

import gradio as gr

from ..studio import Studio
from . import batch, history, logs, single, templates


def build_ui(studio: Studio) -> gr.Blocks:
    """All tabs; every generating event shares one queue slot (concurrency_id)."""
    with gr.Blocks(title="Lip-sync studio", analytics_enabled=False) as demo:
        # one short line: on a 1366x768 screen the Start button must stay in view
        gr.Markdown("**Lip-sync studio** — one audio recording + template videos of a person → videos where the "
                    "mouth follows the new audio. Everything stays on this computer.")
        with gr.Tab("Batch", id="batch"):
            library_picker, latest_batch, followed = batch.build(studio)
        with gr.Tab("Single", id="single"):
            single.build(studio)
        with gr.Tab("Templates", id="templates"):
            templates.build(studio, library_picker)
        with gr.Tab("History", id="history") as history_tab:
            table, filters = history.build(studio)
        with gr.Tab("Logs", id="logs"):
            logs.build(studio)
        # the page shows the current state whenever it is opened or reloaded
        demo.load(latest_batch, None, followed, api_name=False)
        show_history = partial(history.history, studio)
        demo.load(show_history, filters, table, api_name=False)
        history_tab.select(show_history, filters, table, api_name=False)
    return demo


__all__ = ["build_ui"]
