"""Templates tab: check a new template (queued with the jobs), keep it in the library."""
from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import cv2
import gradio as gr
import pandas as pd

from ..errors import LipsyncError
from ..i18n import t
from ..studio import Studio
from ..views import waiting_text
from .batch import library_choices
from .common import TEMPLATE_TYPES, columns, follow
from .texts import Texts

log = logging.getLogger("lipsync.ui")
LIBRARY_COLUMNS = ["col.template", "col.size"]


def _waiting(studio: Studio, ticket, name: str, lang: str) -> str:
    pos = studio.runner.position(ticket)
    return waiting_text(pos, lang) if pos else t(lang, "templates.checking", file=name)


def face_choice(report, lang: str) -> tuple:
    """The faces of the picture to choose from (shown only when there is more than one)."""
    if report is None or report.faces < 2:
        return gr.update(visible=False, value=None), gr.update(visible=False, value=None)
    thumbs = [(cv2.cvtColor(x, cv2.COLOR_BGR2RGB), str(n + 1)) for n, x in enumerate(report.thumbs)]
    choices = [(t(lang, "templates.face_n", n=n + 1), n + 1) for n in range(report.faces)]
    return gr.update(visible=True, value=thumbs), gr.update(visible=True, choices=choices, value=1)


def check_template(studio: Studio, template: str | None, lang: str):
    """Queue the check and follow it: where it waits, then the report and the faces to choose from."""
    if not template:
        raise gr.Error(t(lang, "templates.need_file"))
    name = Path(template).name
    ticket = studio.check_template(template, name)

    def render(tk):
        if not tk.is_finished:
            return _waiting(studio, tk, name, lang), {}, gr.skip(), gr.skip()
        if tk.state == "done":
            return tk.result.to_markdown(lang), tk.result.to_dict(), *face_choice(tk.result, lang)
        return t(lang, "templates.not_usable", error=tk.error), {}, *face_choice(None, lang)

    yield from follow(ticket, render)


def library_table(studio: Studio, lang: str) -> pd.DataFrame:
    return pd.DataFrame([[studio.library_label(p), f"{p.stat().st_size / 1e6:.1f} MB"] for p in studio.library()],
                        columns=columns(LIBRARY_COLUMNS, lang))


def add_to_library(studio: Studio, template: str | None, face: int | None, lang: str):
    """Check the template (queued with the jobs) and keep it only if usable; say the verdict either way."""
    if not template:
        text = t(lang, "templates.need_upload")
        gr.Warning(text)
        yield f"**{text}**", gr.update(), gr.update(), gr.update()
        return
    name = Path(template).name
    ticket = studio.add_to_library_queued(template, name, int(face) if face else None)

    def render(tk):
        if not tk.is_finished:
            return _waiting(studio, tk, name, lang), gr.update(), gr.update(), gr.update()
        if tk.state != "done":
            return t(lang, "templates.not_added", error=tk.error), gr.update(), gr.update(), gr.update()
        kept, report = tk.result
        text = t(lang, "templates.added", name=studio.library_label(kept)) + "\n\n" + report.to_markdown(lang)
        return text, *library_updates(studio, lang)

    yield from follow(ticket, render)


def library_updates(studio: Studio, lang: str) -> tuple:
    """New choices for the Batch tab's picker, the library table and the entry picker here."""
    choices = library_choices(studio)
    return (gr.update(choices=choices), gr.update(value=library_table(studio, lang)),
            gr.update(choices=choices, value=None))


def rename_entry(studio: Studio, entry: str | None, new_name: str, lang: str):
    if not entry or not (new_name or "").strip():
        gr.Warning(t(lang, "templates.need_entry_and_name"))
        return gr.update(), gr.update(), gr.update()
    try:
        studio.rename_in_library(Path(entry), new_name.strip())
    except LipsyncError as e:
        gr.Warning(e.text(lang))
    except OSError as e:
        gr.Warning(t(lang, "templates.rename_failed", detail=e.strerror or str(e)))
    return library_updates(studio, lang)


def remove_entry(studio: Studio, entry: str | None, lang: str):
    if not entry:
        gr.Warning(t(lang, "templates.need_entry"))
        return gr.update(), gr.update(), gr.update()
    try:
        studio.remove_from_library(Path(entry))
    except LipsyncError as e:
        gr.Warning(e.text(lang))
    except OSError as e:
        gr.Warning(t(lang, "templates.remove_failed", detail=e.strerror or str(e)))
    return library_updates(studio, lang)


def build(studio: Studio, tx: Texts, lang: gr.State, batch_library: gr.Dropdown) -> None:
    tx.make(gr.Markdown, {"value": "templates.intro"})
    with gr.Row():
        with gr.Column():
            file = tx.make(gr.File, {"label": "single.template"}, file_types=TEMPLATE_TYPES, elem_id="template-file")
            check = tx.make(gr.Button, {"value": "templates.check"}, variant="primary")
            add = tx.make(gr.Button, {"value": "templates.add"})
            table = tx.make(gr.Dataframe, {"label": "templates.library", "value": partial(library_table, studio)},
                            interactive=False, elem_id="library-table")
            entry = tx.make(gr.Dropdown, {"label": "templates.entry"}, choices=library_choices(studio), value=None)
            new_name = tx.make(gr.Textbox, {"label": "templates.new_name"})
            with gr.Row():
                rename = tx.make(gr.Button, {"value": "templates.rename"})
                remove = tx.make(gr.Button, {"value": "templates.remove"}, variant="stop")
        with gr.Column():
            report = gr.Markdown(elem_id="template-report")
            details = gr.JSON(visible=False)
            faces = tx.make(gr.Gallery, {"label": "templates.faces"}, visible=False, columns=4, height=170,
                            elem_id="template-faces")
            face = tx.make(gr.Radio, {"label": "templates.which_face"}, visible=False, elem_id="template-face")
    # the check itself waits its turn on the studio's runner; the event needs no queue slot of its own
    check.click(partial(check_template, studio), [file, lang], [report, details, faces, face],
                api_name="check_template")
    library_outputs = [batch_library, table, entry]
    add.click(partial(add_to_library, studio), [file, face, lang], [report, *library_outputs], api_name=False)
    rename.click(partial(rename_entry, studio), [entry, new_name, lang], library_outputs, api_name=False)
    remove.click(partial(remove_entry, studio), [entry, lang], library_outputs, api_name=False)
