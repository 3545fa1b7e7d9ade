"""Text helpers for the form engine: accent folding and messages rendered per reader.

``fold`` lets a reader type without diacritics ("Tap huan" finds "Tập huấn, bồi dưỡng").
``LocalText`` is bilingual form content (from the YAML); ``FormText`` is a gettext message
whose numbers and dates are formatted for the reader's language when rendered.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from babel.numbers import format_decimal

from domain.i18n import LazyText, Translator

_PUNCTUATION = re.compile(r"[^\w\s%]")


def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics (đ → d) and collapse whitespace."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.lower().split())


def fold_words(text: str) -> str:
    """``fold`` and turn punctuation into spaces, for matching labels word by word."""
    return " ".join(_PUNCTUATION.sub(" ", fold(text)).replace("_", " ").split())


def format_number(value: int | float, language: str) -> str:
    """1.200 and 12,5 (vi) or 1,200 and 12.5 (en)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return format_decimal(value, locale="en" if language == "en" else "vi")


def format_date(value: dt.date) -> str:
    """dd/mm/yyyy, the order both Vietnamese and the office's English readers expect."""
    return value.strftime("%d/%m/%Y")


@dataclass(frozen=True)
class LocalText:
    """Form content written in both languages (question text, rule messages, labels)."""

    vi: str
    en: str

    def get(self, language: str) -> str:
        return self.en if language == "en" and self.en else self.vi

    def render(self, translator: Translator) -> str:
        return self.get(translator.language)

    def __str__(self) -> str:
        return self.vi


def _render_param(value: Any, language: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return format_number(value, language)
    if isinstance(value, LocalText):
        return value.get(language)
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, tuple | list):
        return ", ".join(str(_render_param(item, language)) for item in value)
    return value


@dataclass(frozen=True)
class FormText(LazyText):
    """A gettext message whose numbers, dates and ``LocalText`` params follow the reader."""

    def render(self, translator: Translator) -> str:
        params = {
            name: _render_param(value, translator.language) for name, value in self.params.items()
        }
        return translator.gettext(self.msgid).format(**params)


def form_text(msgid: str, **params: Any) -> FormText:
    return FormText(msgid, params)


@dataclass(frozen=True)
class JoinedText:
    """Several messages shown together, one per line."""

    parts: tuple[LazyText | LocalText, ...]

    def render(self, translator: Translator) -> str:
        return "\n".join(part.render(translator) for part in self.parts)
