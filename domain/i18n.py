"""Translations (gettext catalogs under ``locales/``) and Vietnamese-style dates via Babel.

Message ids are English; ``locales/vi`` must translate every one of them (a test checks).
Catalogs are compiled in memory from the ``.po`` files, so no stale ``.mo`` can ship.
"""

from __future__ import annotations

import datetime as dt
import gettext
from dataclasses import dataclass, field
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from domain.rich import Rich, fill

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


def N_(message: str) -> str:  # noqa: N802 (gettext convention)
    """Mark a string for extraction; it is translated later, where the language is known."""
    return message


@dataclass(frozen=True)
class LazyText:
    """A message id and its named placeholders, translated when rendered for a reader."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, translator: Translator) -> str:
        return translator.gettext(self.msgid).format(**self.params)


def lazy(msgid: str, **params: Any) -> LazyText:
    return LazyText(msgid, params)


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def reload_catalogs() -> None:
    """Forget compiled catalogs (after ``i18n update``)."""
    _catalog.cache_clear()


@dataclass(frozen=True)
class Translator:
    """Text and dates in one language, in one time zone."""

    language: str
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))

    @property
    def _translations(self) -> gettext.NullTranslations:
        return _catalog(self.language)

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._translations.ngettext(singular, plural, n)

    def __call__(self, message: str, **params: Any) -> str:
        """Translate and fill named placeholders: ``t("Due: {due}", due=...)``."""
        text = self.gettext(message)
        return text.format(**params) if params else text

    def rich(self, message: str, **params: Any) -> Rich:
        """Translate, then fill placeholders with values that may carry marks (bold, code)."""
        return fill(self.gettext(message), params)

    def date(self, value: dt.date | dt.datetime) -> str:
        """Render a date the local way: "thứ Hai, 05/6/2023" or "Monday, 5 June 2023"."""
        if isinstance(value, dt.datetime):
            value = value.astimezone(self.tz).date()
        if self.language == "vi":
            text = babel_format_date(value, "EEEE, dd/M/yyyy", locale="vi")
            # Vietnamese writes the weekday in lower case inside a sentence: "thứ Hai".
            return text.replace("Thứ", "thứ", 1)
        return babel_format_date(value, "EEEE, d MMMM yyyy", locale="en")

    def short_date(self, value: dt.date | dt.datetime) -> str:
        """ "05/6/2023" (vi) or "5 Jun 2023" (en)."""
        if isinstance(value, dt.datetime):
            value = value.astimezone(self.tz).date()
        if self.language == "vi":
            return babel_format_date(value, "dd/M/yyyy", locale="vi")
        return babel_format_date(value, "d MMM yyyy", locale="en")

    def datetime(self, value: dt.datetime) -> str:
        """ "08:00 thứ Hai, 05/6/2023" in the configured time zone."""
        local = value.astimezone(self.tz)
        clock = babel_format_time(local, "HH:mm", locale=self.language)
        return f"{clock} {self.date(local)}"

    def number(self, value: float | int) -> str:
        """1.200 (vi) or 1,200 (en)."""
        return format_decimal(value, locale=self.language)


def translator_for(language: str | None, tz: ZoneInfo | None = None) -> Translator:
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    return Translator(lang, tz) if tz is not None else Translator(lang)
