"""Message length as the chat platforms count it, and splitting long texts to fit."""

from __future__ import annotations


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (an emoji counts twice), as Telegram and Zalo count it."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int) -> list[str]:
    """Split at line breaks (or hard, inside one very long line) into chunks within ``limit``."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf16_len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            cut, size = 0, 0
            while cut < len(line) and size + utf16_len(line[cut]) <= limit:
                size += utf16_len(line[cut])
                cut += 1
            chunks.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if current and utf16_len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks
