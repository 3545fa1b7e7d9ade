"""Texts shared by the screens and the reports: the announcement as a focal point reads it,
channel names, one line per recipient, why a delivery failed, capped listings.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.i18n import N_, Translator, translator_for
from storage.broadcast_models import BroadcastDelivery
from storage.models import Account, Unit

# Proper names, the same in every language.
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo"}


def channel_name(channel: str) -> str:
    """ "zalo" → "Zalo", as the office reads it next to a person."""
    return CHANNEL_NAMES.get(channel, channel.capitalize())


def announcement_text(
    text: str, language: str, *, reminder: bool = False, replies: bool = True
) -> str:
    """The announcement as a focal point reads it: a header, the text, how to answer.

    ``replies``: the channel passes a reply to the announcement on (Telegram's quoted replies);
    where it cannot (Zalo), the announcement does not promise it.
    """
    t = translator_for(language)
    if reminder:
        header = "🔔 " + t("Reminder from the standing office")
    else:
        header = "📢 " + t("Announcement from the standing office")
    if not replies:
        return f"{header}\n\n{text}"
    footer = t("To answer the standing office, reply to this message.")
    return f"{header}\n\n{text}\n\n{footer}"


def _preview(text: str, length: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= length else line[: length - 1] + "…"


def _unit_name(unit: Unit, language: str) -> str:
    return unit.name_en if language == "en" and unit.name_en else unit.name_vi


def _person_line(
    delivery: BroadcastDelivery, account: Account, unit: Unit | None, language: str
) -> str:
    """ "• Sở Y tế — Chị Lan (Zalo)": the unit, the person and the channel they are on."""
    name = _unit_name(unit, language) if unit is not None else "—"
    person = account.display_name or account.external_id
    return f"• {name} — {person} ({channel_name(delivery.channel)})"


_FAILURE_TEXTS: dict[str, str] = {
    "forbidden": N_("blocked the bot or deleted the account"),
    "bad_request": N_("{channel} refused the message: {detail}"),
    "transient": N_("{channel} could not be reached after {attempts} attempts"),
    "retry_after": N_("{channel} kept asking to slow down"),
    "unavailable": N_("the {channel} channel is not running in this bot"),
}


def _failure_text(delivery: BroadcastDelivery, t: Translator) -> str:
    kind = delivery.failure_kind or "transient"
    template = _FAILURE_TEXTS.get(kind, _FAILURE_TEXTS["transient"])
    return t(
        template,
        detail=delivery.reason or "?",
        attempts=delivery.attempts,
        channel=channel_name(delivery.channel),
    )


# How many unit names a screen lists before it says "and N more".
_LIST_LIMIT = 40


def _listing(codes: Sequence[str], t: Translator) -> str:
    shown = ", ".join(codes[:_LIST_LIMIT])
    if len(codes) > _LIST_LIMIT:
        shown += " " + t("and {count} more", count=len(codes) - _LIST_LIMIT)
    return shown


def _cap(lines: list[str], t: Translator, limit: int = 200) -> list[str]:
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], t("and {count} more", count=len(lines) - limit)]
