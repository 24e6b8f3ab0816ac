"""The page's words: which language a page shows, and every fixed text of every component with its
catalogue key, so a page can be put into the reader's language as soon as it opens (or the switch is
used) while another browser shows another language at the same time."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

import gradio as gr

from ..i18n import DEFAULT, from_accept_language, languages, t

C = TypeVar("C")
#: a text property: a catalogue key, or a function of the language (choices, tables)
Text = str | Callable[[str], Any]

#: what the language switch offers: each language in its own words
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def page_language(chosen: str | None, server_default: str, accept_language: str | None) -> str:
    """The switch's last choice in this browser, else the server's default (``--lang``), else the
    browser's language (``auto``)."""
    if chosen in languages():
        return chosen
    if server_default in languages():
        return server_default
    return from_accept_language(accept_language)


class Texts:
    """Registry of (component, {property: text}) made while the page is built."""

    def __init__(self, lang: str = DEFAULT):
        self.lang = lang  #: the language the page is first built in
        self._entries: list[tuple[Any, dict[str, Text]]] = []

    def __call__(self, key: str, **params: Any) -> str:
        """A text in the build language (for texts that are never re-labelled, e.g. logs)."""
        return t(self.lang, key, **params)

    def make(self, cls: Callable[..., C], texts: dict[str, Text], **kwargs: Any) -> C:
        """``cls(**kwargs)`` with its text properties in the build language, remembered for relabelling."""
        component = cls(**{p: self._value(text, self.lang) for p, text in texts.items()}, **kwargs)
        self._entries.append((component, texts))
        return component

    def keep(self, component: C, texts: dict[str, Text]) -> C:
        """Remember a component made elsewhere (e.g. the examples' table) for relabelling."""
        self._entries.append((component, texts))
        return component

    @property
    def components(self) -> list:
        return [c for c, _ in self._entries]

    def updates(self, lang: str) -> list:
        """One update per registered component: all its text properties in ``lang``. A component whose
        texts are fixed keys and already in ``lang`` (the page was built in it) is left alone: an update
        landing while the reader drops a file into it would re-render it for nothing."""
        return [gr.skip() if lang == self.lang and not any(map(callable, texts.values()))
                else gr.update(**{p: self._value(text, lang) for p, text in texts.items()})
                for _, texts in self._entries]

    @staticmethod
    def _value(text: Text, lang: str) -> Any:
        return text(lang) if callable(text) else t(lang, text)


def switch_choices() -> list[tuple[str, str]]:
    return [(LANGUAGE_NAMES.get(lang, lang), lang) for lang in languages()]
