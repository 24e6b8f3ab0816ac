"""The message catalogue: complete in every language, every key used, every text built from it."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lipsync.errors import MediaError
from lipsync.i18n import Msg, catalogue, from_accept_language, languages, msg, normalise, placeholders
from lipsync.media import probe

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*sorted((ROOT / "lipsync").rglob("*.py")), ROOT / "app.py"]


def _source_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)


def test_every_language_has_every_key_with_the_same_parameters():
    assert languages()[0] == "en" and "zh" in languages()
    en = catalogue("en")
    for lang in languages():
        table = catalogue(lang)
        assert set(table) == set(en), (lang, set(table) ^ set(en))
        for key, text in table.items():
            assert placeholders(text) == placeholders(en[key]), (lang, key)


def test_chinese_texts_are_chinese():
    """A key copied over untranslated would still pass the key check: each text with letters in it must
    have Chinese in it (names, commands and units excepted)."""
    zh = catalogue("zh")
    left = [k for k, v in zh.items() if re.search(r"[A-Za-z]{4,}", re.sub(r"\{[^}]*\}|'[^']*'|“[^”]*”", "", v))
            and not re.search(r"[\u4e00-\u9fff]", v)]
    assert left == [], left


def test_no_unused_key_and_no_key_missing():
    source = _source_text()
    keys = set(catalogue("en"))
    unused = sorted(k for k in keys if f'"{k}"' not in source)
    assert unused == [], unused
    prefixes = sorted({k.split(".")[0] for k in keys})
    used = set(re.findall(r'"((?:%s)\.[a-z0-9_]+)"' % "|".join(prefixes), source))
    assert used - keys == set(), used - keys


def test_messages_round_trip_through_json_with_nested_parameters():
    m = msg("err.not_added", file="张医生.mp4", reasons=[msg("report.r_face_small", px=60.0),
                                                        msg("report.r_two_faces")])
    back = Msg.from_json(m.to_json())
    assert back == m
    assert str(back) == "'张医生.mp4' was not added to the library: the face is small (60 px wide); " \
                        "more than one face is visible."
    assert back.text("zh") == "“张医生.mp4”没有加入模板库：脸太小（宽 60 像素）；画面里不止一张脸。"


@pytest.mark.parametrize("header, lang", [("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("zh-Hans", "zh"), ("zh", "zh"),
                                          ("en-US,en;q=0.9", "en"), ("de-DE,fr;q=0.5", "en"), ("", "en"),
                                          ("fr;q=0.9,zh-CN;q=0.8,en;q=0.1", "zh"), ("en;q=0.2,zh;q=0.8", "zh")])
def test_browser_language_decides(header, lang):
    assert from_accept_language(header) == lang


def test_locale_names():
    assert normalise("zh_CN.UTF-8") == "zh" and normalise("en_GB.UTF-8") == "en"
    assert normalise("C.UTF-8") is None and normalise(None) is None


def test_an_input_error_keeps_the_file_name_and_is_translated(tmp_path):
    empty = tmp_path / "录音 1.wav"
    empty.write_bytes(b"")
    with pytest.raises(MediaError) as err:
        probe(empty)
    assert err.value.code == "err.file_empty"
    assert str(err.value) == "'录音 1.wav': the file is empty (0 bytes)."
    assert err.value.text("zh") == "“录音 1.wav”：文件是空的（0 字节）。"


def test_the_command_line_speaks_the_language_of_lang(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    env = {**os.environ, "LIPSYNC_DATA": str(tmp_path / "data"), "LIPSYNC_OUTPUTS": str(tmp_path / "out")}
    outs = {}
    for lang, locale in (("zh", "zh_CN.UTF-8"), ("en", "C.UTF-8")):
        env.update(LANG=locale, LC_ALL=locale)
        proc = subprocess.run([sys.executable, "-m", "lipsync", "-q", "-a", str(ROOT / "examples" / "demo_speech.wav"),
                               "-v", str(bad), "-o", str(tmp_path / lang)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 1, proc.stderr
        outs[lang] = proc.stdout
    assert "“notes.mp4”：不是可读取的音频、视频或图片文件。" in outs["zh"] and "失败 1 个" in outs["zh"]
    assert "'notes.mp4': not a readable audio, video or image file." in outs["en"] and "1 failed" in outs["en"]
