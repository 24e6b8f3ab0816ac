"""The Gradio web UI: one module per tab, each a thin shell over the Studio."""
from __future__ import annotations

from functools import partial

import gradio as gr

from ..studio import Studio
from . import batch, history, logs, single, templates


def build_ui(studio: Studio) -> gr.Blocks:
    """All tabs; every generating event shares one queue slot (concurrency_id)."""
    with gr.Blocks(title="Lip-sync studio", analytics_enabled=False) as demo:
        gr.Markdown("# Lip-sync studio\nOne audio recording + template videos of a person → videos where the "
                    "mouth follows the new audio. Everything stays on this computer.")
        with gr.Tab("Batch", id="batch"):
            library_picker = batch.build(studio)
        with gr.Tab("Single", id="single"):
            single.build(studio)
        with gr.Tab("Templates", id="templates"):
            templates.build(studio, library_picker)
        with gr.Tab("History", id="history"):
            table, filters = history.build(studio)
        with gr.Tab("Logs", id="logs"):
            logs.build(studio)
        demo.load(partial(history.history, studio), filters, table, api_name=False)
    return demo


__all__ = ["build_ui"]
