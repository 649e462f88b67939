"""The three catalogues hold the same messages, each translated once, none fuzzy: a string
that lands in one language lands in all three (and a merge that doubled an entry is caught
here, where Babel would silently keep one of the two)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parents[2] / "src" / "tongxin" / "locale"
LANGUAGES = ("zh_Hans", "bo", "en")
ENTRY = re.compile(r'^(?:msgctxt "((?:[^"\\]|\\.)*)"\n)?msgid "((?:[^"\\]|\\.)*)"\n((?:"(?:[^"\\]|\\.)*"\n)*)', re.M)


def _catalogue(language: str):
    with (LOCALE / language / "LC_MESSAGES" / "django.po").open("rb") as f:
        return read_po(f, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_message_is_defined_once(language):
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    seen, twice = set(), []
    for m in ENTRY.finditer(text):
        key = (m.group(1), m.group(2) + m.group(3))
        if key in seen:
            twice.append(key)
        seen.add(key)
    assert not twice, f"{language}: defined more than once: {twice[:5]}"


def test_the_three_catalogues_hold_the_same_messages_all_translated():
    ids = {}
    for language in LANGUAGES:
        catalogue = _catalogue(language)
        messages = [m for m in catalogue if m.id]
        untranslated = [m.id for m in messages
                        if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
        fuzzy = [m.id for m in messages if m.fuzzy]
        assert not untranslated, f"{language}: untranslated {untranslated[:5]}"
        assert not fuzzy, f"{language}: fuzzy {fuzzy[:5]}"
        ids[language] = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in messages}
    assert ids["bo"] == ids["zh_Hans"], sorted(ids["bo"] ^ ids["zh_Hans"])[:5]
    assert ids["en"] == ids["zh_Hans"], sorted(ids["en"] ^ ids["zh_Hans"])[:5]
