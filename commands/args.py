"""Reading command arguments: numbers within a range, dates the Vietnamese way."""

from __future__ import annotations

from datetime import date, datetime


def bounded_int(text: str, low: int, high: int) -> int | None:
    """``text`` as a whole number within [low, high]; None for anything else (never raises)."""
    text = text.strip().lstrip("#")
    if not text.isdigit() or len(text) > len(str(high)):
        return None
    try:
        value = int(text)  # "²" is a digit to isdigit() but no number to int()
    except ValueError:
        return None
    return value if low <= value <= high else None


def parse_date(text: str) -> date | None:
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date, no time)
        except ValueError:
            continue
    return None
