"""Plain text for Zalo: no markup, at most 2,000 characters a message."""

from __future__ import annotations

import html
import re

MAX_MESSAGE_CHARS = 2000  # sendMessage accepts 1-2000 characters

_TAGS = re.compile(r"</?(?:b|i|u|s|code|pre)>")


def text_len(text: str) -> int:
    """Length counted in UTF-16 units: an emoji counts twice, so a split never runs over."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split at line breaks (hard inside one over-long line) into chunks within ``limit``."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while text_len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            cut, size = 0, 0
            while cut < len(line) and size + text_len(line[cut]) <= limit:
                size += text_len(line[cut])
                cut += 1
            chunks.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if current and text_len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()] or [""]


def plain(text: str) -> str:
    """A message written for Telegram's HTML (shared message ids) as plain text."""
    return html.unescape(_TAGS.sub("", text))


def esc(value: object) -> str:
    """Escape a value put into a shared HTML message id, before ``plain`` unescapes it."""
    return html.escape(str(value), quote=False)
