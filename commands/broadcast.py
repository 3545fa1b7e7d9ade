"""/broadcast, /broadcasts, /acks, the compose steps, and "Received" under an announcement.

The compose flow lives in ``domain.broadcasts``; its screens' choices are marked with the
``bc`` scope so that a press (or a typed number on Zalo) comes back here, not to the forms.

"Received" comes two ways: Telegram's button (``ack``) names no announcement, the message it
sits under does; a channel without buttons (Zalo) numbers the choice ``ack:<round id>``,
so that typing "1" or "đã nhận" confirms that round.
"""

from __future__ import annotations

import dataclasses
import logging

from commands.args import bounded_int
from commands.core import Request, command
from commands.people import say
from commands.texts import STALE_CHOICE
from domain.broadcasts import AckResult, Attachment, BroadcastProgress, BroadcastQueued
from domain.commands import Audience
from domain.conversation import Outcome
from domain.errors import DomainError
from domain.i18n import N_

log = logging.getLogger(__name__)

SCOPE = "bc"
ACK = "ack"
RECEIVED = N_("Received")  # the confirming choice's label, a button or a numbered line


def ack_code(broadcast_id: int) -> str:
    """The choice that confirms one round where no message carries a button (Zalo)."""
    return f"{ACK}:{broadcast_id}"


def scoped(outcome: Outcome) -> Outcome:
    """Mark the replies' choices as the announcements' own."""
    outcome.replies = [dataclasses.replace(reply, scope=SCOPE) for reply in outcome.replies]
    return outcome


@command("broadcast", N_("Send an announcement to the focal points"), Audience.OFFICE)
async def broadcast(req: Request) -> Outcome:
    """Compose an announcement (or continue the draft)."""
    return scoped(req.services.broadcasts.compose(req.me, req.t))


@command("broadcasts", N_("Recent announcements and who confirmed"), Audience.OFFICE)
async def broadcasts(req: Request) -> Outcome:
    return scoped(Outcome([req.services.broadcasts.recent(req.t)]))


@command("acks", N_("Who confirmed an announcement"), Audience.OFFICE, usage="<number>")
async def acks(req: Request) -> Outcome:
    """Who confirmed an announcement, with a choice to remind the others."""
    t = req.t
    number = bounded_int(req.args[0], 1, 10**9) if req.args else None
    if number is None:
        return say(t("Usage: /acks <number>, e.g. /acks 12. /broadcasts lists them."))
    try:
        screen = req.services.broadcasts.ack_overview(t, number)
    except DomainError as error:
        return say(error.text.render(t))
    return scoped(Outcome([screen]))


def draft_input(
    req: Request, text: str | None, attachment: Attachment | None = None
) -> Outcome | None:
    """The office's message while composing; None when no draft waits for it."""
    if not req.me.is_office:
        return None
    outcome = req.services.broadcasts.on_input(req.me, req.t, text=text, attachment=attachment)
    return scoped(outcome) if outcome is not None else None


def press(req: Request, choice: str, *, message_id: int | None = None) -> Outcome:
    """A compose step, the reminder of /acks, or "Received" (by its message, or its round)."""
    t = req.t
    service = req.services.broadcasts
    if choice == ACK:
        if message_id is None:
            return Outcome(alert=t(STALE_CHOICE))
        result = service.acknowledge(
            req.me.account_id, req.chat_id, message_id, channel=req.traits.name
        )
        return _acknowledged(req, result)
    verb, _, round_id = choice.partition(":")
    if verb == ACK:
        if not round_id.isdigit():
            return Outcome(alert=t(STALE_CHOICE))
        return _acknowledged(req, service.acknowledge_round(req.me.account_id, int(round_id)))
    if choice.startswith("rem:"):
        return scoped(service.remind(req.me, t, choice))
    return scoped(service.on_action(req.me, t, choice))


def _acknowledged(req: Request, result: AckResult) -> Outcome:
    t = req.t
    if result is AckResult.UNKNOWN:
        return Outcome(alert=t(STALE_CHOICE))
    if result is AckResult.ALREADY:
        return Outcome(alert=t("You have already confirmed. Thank you!"), clear_choices=True)
    return Outcome(
        alert=t("Thank you! The standing office sees that you received it."), clear_choices=True
    )


def start_round(req: Request, notice: BroadcastQueued, progress_message: int | None) -> None:
    """A confirmed round: remember where its progress shows, and hand it to delivery."""
    first = BroadcastProgress(notice.broadcast_id, notice.total, 0, 0)
    req.services.broadcasts.note_progress(
        notice.broadcast_id, first.key, message_id=progress_message
    )
    delivery = req.runtime.delivery
    if delivery is None or not delivery.running:
        # Kept pending in the ledger: the next start of the delivery engine sends it.
        log.warning("broadcast %s queued while delivery is not running", notice.broadcast_id)
        return
    delivery.submit(notice.broadcast_id)
