"""A focal point typing a report into a bot that may crash: what a patient person would do.

Used by the crash and chaos runs, where the bot is a separate process that gets killed. The
person answers the question the bot is on (read from the database, as it is the bot's memory),
sends one message at a time, and types it again only when it was clearly lost: the bot took it
from Telegram (it is no longer pending) and nothing changed for ``patience`` seconds. Typing
again while the first message is still queued would answer the *next* question with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlmodel import select

from bench.data import canonical_answers
from domain.forms.loader import load_forms
from standin.telegram import FakeTelegram
from storage.db import Database
from storage.models import Answer, FormSession
from tests.forms_helpers import TYPED_ANSWERS, form_position

REVIEW, CONFIRM = "<review>", "<confirm>"


def form_positions(db: Database) -> dict[str, str]:
    """Where each Telegram chat's open form is: a question key, ``<review>``, ``<confirm>``…"""
    with db.transaction() as session:
        return {
            row.chat_id: form_position(row)
            for row in session.exec(select(FormSession))
            if row.channel == "telegram"
        }


def stored_answers(db: Database) -> dict[str, dict[str, object]]:
    """The answers (not skipped) of each Telegram chat's open form, by question key."""
    with db.transaction() as session:
        report_of_chat = {
            row.chat_id: row.report_id
            for row in session.exec(select(FormSession))
            if row.channel == "telegram"
        }
        chats_by_report: dict[int, list[str]] = {}
        for chat, report_id in report_of_chat.items():
            chats_by_report.setdefault(report_id, []).append(chat)
        result: dict[str, dict[str, object]] = {chat: {} for chat in report_of_chat}
        for row in session.exec(select(Answer).where(Answer.skipped == False)):  # noqa: E712
            for chat in chats_by_report.get(row.report_id, []):
                result[chat][row.question_key] = json.loads(row.value_json)
        return result


@dataclass
class TypingUser:
    telegram: FakeTelegram
    user_id: int
    patience: float = 10.0
    answers: dict[str, object] | None = None
    last_update: int | None = None
    last_position: str | None = None
    sent_at: float = 0.0
    messages_typed: int = 0
    retyped: int = 0

    def step(self, position: str | None, now: float) -> bool:
        """Act on the bot's position in this person's form; True once at the review."""
        if position == REVIEW:
            return True
        if self.last_update is not None and self.telegram.is_pending(self.last_update):
            return False  # Telegram still holds it: the bot is down or busy
        waited = now - self.sent_at
        if self.last_update is not None and position == self.last_position:
            if waited < self.patience:
                return False  # taken and being handled, or its answer is on the way
            self.retyped += 1
        self.last_update = self.telegram.inject_message(self.user_id, self._text(position))
        self.last_position = position
        self.sent_at = now
        self.messages_typed += 1
        return False

    def _text(self, position: str | None) -> str:
        if position is None:
            return "/report"
        if position == CONFIRM:
            return "có"
        return str((self.answers or TYPED_ANSWERS)[position])


def expected_values(
    form_key: str = "six_month", today: date = date(2023, 5, 29)
) -> dict[str, object]:
    """What the bot must store for the sample report, as JSON gives it back (real parser)."""
    form = load_forms()[form_key]
    return {
        key: json.loads(json.dumps(value, ensure_ascii=False))
        for key, value, skipped in canonical_answers(form, "district", today)
        if not skipped
    }
