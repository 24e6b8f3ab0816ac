"""The Gradio web UI: one module per tab, each a thin shell over the Studio, in the reader's language."""
from __future__ import annotations

from functools import partial

import gradio as gr

from ..i18n import DEFAULT, languages
from ..studio import Studio
from . import batch, history, logs, single, templates
from .texts import Texts, page_language, switch_choices

#: the switch's choice is kept in the browser (localStorage), so it holds across reloads and visits
LANGUAGE_KEY = "lipsync-language"


def build_ui(studio: Studio) -> gr.Blocks:
    """All tabs, and the language: the page is put into the reader's language as soon as it opens."""
    server_lang = studio.settings.lang
    tx = Texts(server_lang if server_lang in languages() else DEFAULT)
    with gr.Blocks(title=tx("page.title"), analytics_enabled=False) as demo:
        # gradio_client and other scripts never run the page's load event: they get English
        lang = gr.State(DEFAULT)
        chosen = gr.BrowserState("", storage_key=LANGUAGE_KEY)
        with gr.Row(equal_height=True):
            # one short line: on a 1366x768 screen the Start button must stay in view
            tx.make(gr.Markdown, {"value": "page.header"}, elem_id="page-header")
            switch = gr.Radio(switch_choices(), value=tx.lang, show_label=False, container=False, scale=0,
                              min_width=230, elem_id="language-switch")
        with tx.make(gr.Tab, {"label": "tab.batch"}, id="batch"):
            library_picker, latest_batch, followed, (disk_text, disk) = batch.build(studio, tx, lang)
        with tx.make(gr.Tab, {"label": "tab.single"}, id="single"):
            single.build(studio, tx, lang)
        with tx.make(gr.Tab, {"label": "tab.templates"}, id="templates"):
            templates.build(studio, tx, lang, library_picker)
        with tx.make(gr.Tab, {"label": "tab.history"}, id="history") as history_tab:
            table, filters = history.build(studio, tx, lang)
        with tx.make(gr.Tab, {"label": "tab.logs"}, id="logs"):
            logs.build(studio, tx, lang)

        def on_load(choice: str, request: gr.Request) -> tuple[str, str]:
            code = page_language(choice, server_lang, request.headers.get("accept-language"))
            return code, code

        # the page shows the current state, in its reader's language, whenever it is opened or reloaded
        show_history = partial(history.history, studio)
        demo.load(on_load, chosen, [lang, switch], api_name=False).then(
            tx.updates, lang, tx.components, api_name=False).then(
            show_history, filters, table, api_name=False).then(disk_text, lang, disk, api_name=False)
        demo.load(latest_batch, None, followed, api_name=False)
        history_tab.select(show_history, filters, table, api_name=False)
        # a new language: remember it in this browser and open the page again in it
        switch.input(lambda code: code, switch, chosen, api_name=False).then(
            None, None, None, js="() => { window.location.reload(); }")
    return demo


__all__ = ["build_ui"]
