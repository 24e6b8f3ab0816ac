"""The message catalogue: every text a person reads, one JSON file per language (``en.json``, ``zh.json``).

Code never writes user-facing sentences itself: it names a message key and its parameters (a :class:`Msg`),
and the text is made in the reader's language at the last moment (``msg.text("zh")``). ``str(msg)`` is the
English text, which is what logs, manifests and the HTTP API carry; the key is the stable ``code`` that
scripts can rely on. A third language is one more JSON file with the same keys.
"""
from __future__ import annotations

import json
import os
import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT = "en"  #: the language of logs, manifests, the HTTP API and gradio_client answers


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """All messages of one language (read once: an explicit cache)."""
    return json.loads((HERE / f"{lang}.json").read_text(encoding="utf-8"))


def languages() -> list[str]:
    """The languages there is a catalogue for (``en`` first)."""
    return sorted((p.stem for p in HERE.glob("*.json")), key=lambda s: (s != DEFAULT, s))


def placeholders(text: str) -> set[str]:
    """The parameter names a message text uses (``{file}`` -> ``file``)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def t(lang: str, key: str, **params: Any) -> str:
    """The text of ``key`` in ``lang`` (English when that language lacks it), parameters filled in;
    parameters that are messages themselves are translated too."""
    table = catalogue(lang if lang in languages() else DEFAULT)
    text = table.get(key) or catalogue(DEFAULT)[key]
    return text.format(**{k: _param(lang, v) for k, v in params.items()})


def _param(lang: str, value: Any) -> Any:
    if isinstance(value, Msg):
        return value.text(lang)
    if isinstance(value, (list, tuple)):
        return t(lang, "common.list_sep").join(str(_param(lang, v)) for v in value)
    return value


@dataclass(frozen=True)
class Msg:
    """A message not yet put into words: a catalogue key (its stable code) and its parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def text(self, lang: str = DEFAULT) -> str:
        return t(lang, self.key, **self.params)

    def __str__(self) -> str:
        return self.text(DEFAULT)

    def to_json(self) -> dict:
        """``{"code": key, "params": {...}}`` (nested messages likewise), to store and re-translate later."""
        return {"code": self.key, "params": {k: _to_json(v) for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: dict) -> "Msg":
        return cls(data["code"], {k: _from_json(v) for k, v in data.get("params", {}).items()})


def msg(key: str, **params: Any) -> Msg:
    """Shorthand: ``msg("err.file_empty", file=name)``."""
    return Msg(key, params)


def plain(text: str) -> Msg:
    """A text that is not in the catalogue (e.g. from an older history row): shown as it is."""
    return Msg("common.plain", {"text": text})


def _to_json(value: Any) -> Any:
    if isinstance(value, Msg):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and "code" in value:
        return Msg.from_json(value)
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def normalise(lang: str | None) -> str | None:
    """'zh', 'zh-CN', 'zh_CN.UTF-8', 'zh-Hans' -> 'zh'; 'en-US' -> 'en'; unknown or empty -> None."""
    base = (lang or "").strip().replace("_", "-").split(".")[0].split("-")[0].lower()
    return base if base in languages() else None


def from_accept_language(header: str | None) -> str:
    """The browser's first language we have (an ``Accept-Language`` header), else English."""
    ranked = []
    for n, part in enumerate((header or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, n, tag))
    for _, _, tag in sorted(ranked):
        if (lang := normalise(tag)):
            return lang
    return DEFAULT


def from_environment() -> str:
    """The command line's language: ``LC_ALL``, then ``LC_MESSAGES``, then ``LANG`` (zh_CN.* -> zh)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return normalise(value) or DEFAULT
    return DEFAULT
