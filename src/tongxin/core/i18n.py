"""Language helpers: compiling the catalogues, and the language a record is shown in.

The ``.po`` catalogues are compiled to ``.mo`` on first start (and whenever a ``.po``
is newer), with Babel, so ``bo`` never silently falls back to Chinese on a machine
without GNU gettext.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real

log = logging.getLogger(__name__)

LANGUAGE_CODES = ("zh-hans", "bo", "en")


def ensure_compiled(force: bool = False) -> list[Path]:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    compiled = []
    for base in settings.LOCALE_PATHS:
        for po in Path(base).glob("*/LC_MESSAGES/*.po"):
            mo = po.with_suffix(".mo")
            if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            try:
                with po.open("rb") as f:
                    catalog = read_po(f, locale=po.parent.parent.name)
                with mo.open("wb") as f:
                    write_mo(f, catalog, use_fuzzy=False)
                compiled.append(mo)
            except (OSError, ValueError) as exc:  # read-only install or a broken catalogue: say so, do not stop
                log.warning("could not compile %s: %s", po, exc)
    if compiled:
        # Django's private caches of loaded catalogues (no public API empties them).
        trans_real._translations = {}  # type: ignore[attr-defined]
        trans_real._active = trans_real.Local()  # type: ignore[attr-defined]
    return compiled


def localized(obj, field: str, language: str | None = None) -> str:
    """``obj.<field>_bo`` / ``_zh`` / ``_en`` for the active language, falling back to Chinese."""
    language = language or translation.get_language() or "zh-hans"
    suffix = {"bo": "bo", "en": "en"}.get(language.split("-")[0], "zh")
    return getattr(obj, f"{field}_{suffix}", "") or getattr(obj, f"{field}_zh", "")


def active_code(language: str | None = None) -> str:
    """The active language as one of ``LANGUAGE_CODES`` (Chinese when none or another is active)."""
    language = (language or translation.get_language() or "zh-hans").lower()
    return {"bo": "bo", "en": "en"}.get(language.split("-")[0], "zh-hans")


def in_every_language(make) -> dict[str, str]:
    """``make()`` evaluated in each interface language: a name or label kept as it was."""
    names = {}
    for code in LANGUAGE_CODES:
        with translation.override(code):
            names[code] = str(make())
    return names
