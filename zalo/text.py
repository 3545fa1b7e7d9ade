"""Plain text for Zalo: no markup, at most 2,000 characters a message."""

from __future__ import annotations

from domain.text import split_text as split_lines
from domain.text import utf16_len

MAX_MESSAGE_CHARS = 2000  # sendMessage accepts 1-2000 characters

text_len = utf16_len  # an emoji counts twice, so a split never runs over


def split_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split at line breaks into chunks within ``limit``; Zalo refuses blank messages."""
    return [chunk for chunk in split_lines(text, limit) if chunk.strip()] or [""]
