"""What the service needs from outside: a channel adapter's ``Sender`` (one ``DeliveryJob`` in,
a ``SendResult`` out; an ``Attachment`` sent again by its file id) and, from the reports, which
units have not submitted a period (``SubmissionStatus``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"


@dataclass(frozen=True)
class Attachment:
    """A file the sender attached: sent again by the channel's file id, never re-uploaded."""

    kind: AttachmentKind
    ref: str
    name: str | None = None


@dataclass(frozen=True)
class DeliveryJob:
    """One message to send, its text already in the reader's language."""

    delivery_id: int
    broadcast_id: int
    chat_id: str
    text: str
    attachment: Attachment | None
    ack_button: bool
    language: str
    attempts: int = 0
    channel: str = "telegram"  # the recipient's: the sender of this channel sends it


class SendOutcome(StrEnum):
    SENT = "sent"
    RETRY_AFTER = "retry_after"  # flood control: wait ``retry_after`` seconds, then again
    TRANSIENT = "transient"  # 5xx, network error, time-out: retry with backoff
    FORBIDDEN = "forbidden"  # blocked the bot or deleted the account: never retry
    BAD_REQUEST = "bad_request"  # e.g. chat not found: never retry
    UNAVAILABLE = "unavailable"  # the recipient's channel is not served by this process


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    message_id: int | None = None
    retry_after: float = 0.0
    reason: str = ""

    @classmethod
    def sent(cls, message_id: int | None) -> SendResult:
        """Delivered; ``message_id`` where the channel's ids are numbers (Telegram), else None."""
        return cls(SendOutcome.SENT, message_id=message_id)

    @classmethod
    def flood_wait(cls, seconds: float, reason: str = "") -> SendResult:
        return cls(SendOutcome.RETRY_AFTER, retry_after=seconds, reason=reason)

    @classmethod
    def transient(cls, reason: str) -> SendResult:
        return cls(SendOutcome.TRANSIENT, reason=reason)

    @classmethod
    def forbidden(cls, reason: str) -> SendResult:
        return cls(SendOutcome.FORBIDDEN, reason=reason)

    @classmethod
    def bad_request(cls, reason: str) -> SendResult:
        return cls(SendOutcome.BAD_REQUEST, reason=reason)

    @classmethod
    def unavailable(cls, channel: str) -> SendResult:
        return cls(SendOutcome.UNAVAILABLE, reason=channel)


class Sender(Protocol):
    """Sends one announcement to one chat of its channel; never raises for what it answers."""

    async def send(self, job: DeliveryJob) -> SendResult:
        """Send the job's plain text (the adapter escapes it), its attachment and "Received"."""
        ...


@dataclass(frozen=True)
class PeriodChoice:
    """A report period the office may target: "units that have not submitted it"."""

    key: str
    label_vi: str
    label_en: str = ""

    def label(self, language: str) -> str:
        return self.label_en if language == "en" and self.label_en else self.label_vi


class SubmissionStatus(Protocol):
    """What the reports know: which periods are open, which units have not submitted."""

    def open_periods(self) -> Sequence[PeriodChoice]:
        """The periods to offer (none: the "not submitted" choice is hidden)."""
        ...

    def missing_unit_ids(self, period_key: str) -> set[int]:
        """Ids of the active units expected to report for the period that have not submitted."""
        ...
