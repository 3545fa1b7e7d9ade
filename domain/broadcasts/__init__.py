"""Announcements from the standing office to the focal points: compose, audience, ledger, acks.

Transport-free. Screens are ``Reply`` objects (plain text and actions a channel renders as
buttons or numbered choices); messages go out through a ``Sender`` the channel adapter
implements, paced by ``domain.delivery``. The compose conversation lives in the database (a
``broadcast`` row with status "draft", one per sender), so a restart loses nothing.

One audience: an announcement composed on any channel reaches every targeted focal point on
the channel where that person registered. Every recipient of a round has one
``broadcast_delivery`` row (unique per broadcast and account) naming that channel: pending,
then sent (with its message id where the channel has one), or failed with the reason. A
reminder is a new round: a broadcast row whose ``parent_id`` is the announcement it repeats.

| module | what it holds |
|---|---|
| ``service`` | :class:`BroadcastService`: the parts below put together |
| ``compose`` | /broadcast: the draft, what the sender types or attaches, its buttons, sending |
| ``screens`` | the compose screens and their buttons, up to the preview |
| ``audience`` | :class:`AudienceKind`; the units an audience names and their recipients |
| ``ledger`` | the delivery ledger: pending jobs, sent or failed, progress, the final report |
| ``responses`` | "Received" (:class:`AckResult`); where a reply goes (:class:`ReplyRoute`) |
| ``overview`` | /broadcasts, /acks and the reminder round to those who have not confirmed |
| ``progress`` | a round queued, its counts, where they show (:class:`BroadcastProgress`) |
| ``records`` | the draft, the rounds and the delivery rows in the database |
| ``contracts`` | what the channels (:class:`Sender`) and the reports implement for it |
| ``texts`` | the announcement as read, channel names, one line per recipient, failure reasons |
"""

from domain.broadcasts.audience import AudienceKind
from domain.broadcasts.compose import MAX_CAPTION_TEXT, MAX_TEXT
from domain.broadcasts.contracts import (
    Attachment,
    AttachmentKind,
    DeliveryJob,
    PeriodChoice,
    Sender,
    SendOutcome,
    SendResult,
    SubmissionStatus,
)
from domain.broadcasts.progress import (
    BroadcastProgress,
    BroadcastQueued,
    ProgressTarget,
    progress_text,
)
from domain.broadcasts.records import ComposeStep
from domain.broadcasts.responses import AckResult, ReplyRoute
from domain.broadcasts.service import BroadcastService
from domain.broadcasts.texts import CHANNEL_NAMES, announcement_text, channel_name
from domain.errors import DomainError

__all__ = [
    "CHANNEL_NAMES",
    "MAX_CAPTION_TEXT",
    "MAX_TEXT",
    "AckResult",
    "Attachment",
    "AttachmentKind",
    "AudienceKind",
    "BroadcastProgress",
    "BroadcastQueued",
    "BroadcastService",
    "ComposeStep",
    "DeliveryJob",
    "DomainError",
    "PeriodChoice",
    "ProgressTarget",
    "ReplyRoute",
    "SendOutcome",
    "SendResult",
    "Sender",
    "SubmissionStatus",
    "announcement_text",
    "channel_name",
    "progress_text",
]
