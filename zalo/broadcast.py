"""Announcements on Zalo: the delivery engine's Zalo lane, and progress for office staff here.

An announcement composed on either channel reaches a Zalo focal point through this lane of the
one ``DeliveryEngine`` (one ledger, one round): ``ZaloSender`` sends it through the outbox
(the monthly quota counts it, the token's pacer spaces it), paced again per chat by the engine.

- "Received": the text ends with the numbered choice "1. Đã nhận"; the chat's menu remembers
  it with the ``bc`` scope and the code ``ack:<round id>``, so typing "1", "đã nhận" or
  "da nhan" confirms that round (``commands.broadcast.press``).
- Attachments are Telegram file ids, which Zalo cannot fetch: the file is not sent; the text
  says a file is attached on Telegram and names it.
- A reply cannot quote the announcement on Zalo, so the text does not invite one.
- Progress for an office member on Zalo: the start message is the confirmation ("sent 0/n…");
  Zalo cannot edit it, so nothing follows until the final report.
"""

from __future__ import annotations

import dataclasses
import logging
from zoneinfo import ZoneInfo

from commands.broadcast import RECEIVED, SCOPE, ack_code
from commands.core import Runtime
from domain.broadcasts import (
    BroadcastProgress,
    BroadcastService,
    DeliveryJob,
    SendResult,
)
from domain.conversation import Action, Reply
from domain.delivery import DeliveryConfig, DeliveryEngine
from domain.i18n import translator_for
from domain.send_budget import bulk_sends
from domain.services import Services
from zalo import CHANNEL
from zalo.client import ZaloError, ZaloTokenError
from zalo.menus import Menu, render
from zalo.outbox import ZaloOutbox

log = logging.getLogger(__name__)

# Typed words that confirm, besides the number and the label in the reader's language.
ACK_WORDS = ("da nhan", "received")


def zalo_pace(send_rate: float) -> DeliveryConfig:
    """The Zalo lane's limits: the token's configured pace (``ZALO_SEND_RATE``), 1/s per chat."""
    return DeliveryConfig(rate_per_second=send_rate, per_chat_interval=1.0)


class ZaloSender:
    """The engine's ``Sender`` for Zalo chats; Zalo's errors become send outcomes."""

    def __init__(self, outbox: ZaloOutbox) -> None:
        self._outbox = outbox

    async def send(self, job: DeliveryJob) -> SendResult:
        t = translator_for(job.language)
        text = job.text
        if job.attachment is not None:
            name = job.attachment.name or t("a photo")
            text += "\n\n📎 " + t(
                "A file is attached to this announcement on Telegram: {name}. "
                "Ask the standing office if you need it.",
                name=name,
            )
        actions = ((Action(t(RECEIVED), ack_code(job.broadcast_id)),),)
        reply = Reply(text, actions=actions if job.ack_button else (), scope=SCOPE)
        rendered = render(reply, t)
        try:
            with bulk_sends():  # a person waiting for a reply goes first
                await self._outbox.send_text(job.chat_id, rendered.text)
        except ZaloTokenError as error:  # the bot's problem, not the person's: retried
            return SendResult.transient(f"{error.status} {error.description}")
        except ZaloError as error:
            reason = f"{error.status} {error.description}".strip()
            if error.status == 429:
                return SendResult.flood_wait(error.retry_after or 1.0, reason)
            if error.retryable:
                return SendResult.transient(reason)
            if error.status == 403:  # the person blocked the bot or left Zalo
                return SendResult.forbidden(reason)
            return SendResult.bad_request(reason)
        if rendered.menu is not None:
            self._outbox.store.remember_menu(job.chat_id, _with_ack_words(rendered.menu))
        return SendResult.sent(None)  # Zalo's ids are not numbers; "Received" needs none


def _with_ack_words(menu: Menu) -> Menu:
    entries = tuple(dataclasses.replace(entry, words=ACK_WORDS) for entry in menu.entries)
    return dataclasses.replace(menu, entries=entries)


class ZaloProgress:
    """The end of a round for an office member on Zalo: the final report (Zalo cannot edit)."""

    def __init__(self, outbox: ZaloOutbox, broadcasts: BroadcastService, tz: ZoneInfo) -> None:
        self._outbox = outbox
        self._broadcasts = broadcasts
        self._tz = tz

    async def __call__(self, progress: BroadcastProgress) -> None:
        if not progress.finished:
            return  # the confirmation was the start message; no edits, no messages between
        target = self._broadcasts.progress_target(progress.broadcast_id)
        if target is None or target.channel != CHANNEL:
            return
        t = translator_for(target.language, self._tz)
        await self._outbox.send_text(
            target.chat_id, self._broadcasts.report(progress.broadcast_id, t)
        )


def attach_delivery(
    runtime: Runtime, services: Services, outbox: ZaloOutbox, send_rate: float
) -> DeliveryEngine | None:
    """Give the process's delivery engine its Zalo lane.

    With Telegram in the same process the engine exists (Telegram's adapter made it) and this
    returns None; with Zalo alone it makes one and returns it: the caller starts and stops it.
    """
    engine = runtime.delivery if isinstance(runtime.delivery, DeliveryEngine) else None
    made = None
    if engine is None:
        engine = made = DeliveryEngine(services.broadcasts)
        runtime.delivery = engine
    engine.add_channel(
        CHANNEL,
        ZaloSender(outbox),
        zalo_pace(send_rate),
        progress=ZaloProgress(outbox, services.broadcasts, services.tz),
    )
    return made
