"""Text with light semantic marks (bold, italic, code, link), known to no channel.

Translatable strings stay plain text with placeholders; the marks come from the values put
into them (``t.rich("Welcome, {unit}.", unit=bold(name))``), so a translator cannot break a
message. Telegram renders the marks as escaped HTML, Zalo drops them.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Mark(StrEnum):
    BOLD = "bold"
    ITALIC = "italic"
    CODE = "code"
    LINK = "link"


@dataclass(frozen=True)
class Span:
    text: str
    mark: Mark | None = None
    url: str | None = None  # for LINK


@dataclass(frozen=True)
class Rich:
    """A sequence of spans; ``plain`` is what a channel without markup shows."""

    spans: tuple[Span, ...] = ()

    @property
    def plain(self) -> str:
        return "".join(span.text for span in self.spans)

    def __add__(self, other: Rich | str) -> Rich:
        return Rich(self.spans + as_rich(other).spans)

    def __radd__(self, other: str) -> Rich:
        return Rich(as_rich(other).spans + self.spans)

    def __bool__(self) -> bool:
        return any(span.text for span in self.spans)

    def lines(self) -> list[Rich]:
        """Split at line breaks, keeping each span's mark on both sides of a break."""
        result: list[list[Span]] = [[]]
        for span in self.spans:
            parts = span.text.split("\n")
            for index, part in enumerate(parts):
                if index:
                    result.append([])
                if part:
                    result[-1].append(Span(part, span.mark, span.url))
        return [Rich(tuple(line)) for line in result]


Text = str | Rich


def as_rich(value: object) -> Rich:
    if isinstance(value, Rich):
        return value
    return Rich((Span(str(value)),)) if str(value) else Rich()


def plain(value: Text) -> str:
    return value.plain if isinstance(value, Rich) else value


def bold(value: object) -> Rich:
    return Rich((Span(str(value), Mark.BOLD),))


def italic(value: object) -> Rich:
    return Rich((Span(str(value), Mark.ITALIC),))


def code(value: object) -> Rich:
    return Rich((Span(str(value), Mark.CODE),))


def link(text: object, url: str) -> Rich:
    return Rich((Span(str(text), Mark.LINK, url),))


def join(separator: Text, parts: Iterable[Text]) -> Rich:
    result = Rich()
    for index, part in enumerate(parts):
        if index:
            result += separator
        result += part
    return result


def fill(template: str, params: Mapping[str, object]) -> Rich:
    """``str.format`` for a translated template whose values may carry marks."""
    result = Rich()
    for literal, field, spec, _conversion in string.Formatter().parse(template):
        if literal:
            result += literal
        if field is None:
            continue
        value = params[field]
        if isinstance(value, Rich):
            result += value
        else:
            result += format(value, spec or "")
    return result
