"""An announcement's rows as the service reads and writes them: the sender's draft and its
state, the rounds of an announcement (a reminder is a round whose ``parent_id`` is the
announcement), and one ``broadcast_delivery`` row per recipient of a round.

The helpers take a session and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, func, select

from domain.accounts import AccountService
from domain.broadcasts.contracts import Attachment, AttachmentKind, SubmissionStatus
from domain.clock import Clock
from storage.broadcast_models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    DeliveryStatus,
)
from storage.db import Database
from storage.models import Account, Unit


class ComposeStep(StrEnum):
    CONTENT = "content"
    AUDIENCE = "audience"
    PERIOD = "period"
    UNITS = "units"
    PREVIEW = "preview"


@dataclass(frozen=True)
class _Recipient:
    account: Account
    unit: Unit


class BroadcastRecords:
    """What every part of the service shares: the database, the clock, the accounts, the reports."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        accounts: AccountService,
        *,
        submission_status: SubmissionStatus | None = None,
        default_language: str = "vi",
    ) -> None:
        self._db = db
        self._clock = clock
        self._accounts = accounts
        self._submissions = submission_status
        self._default_language = default_language


def _draft_of(session: Session, account_id: int) -> Broadcast | None:
    return session.exec(
        select(Broadcast).where(
            Broadcast.sender_account_id == account_id,
            Broadcast.status == BroadcastStatus.DRAFT,
        )
    ).first()


def _state(draft: Broadcast) -> dict[str, Any]:
    loaded = json.loads(draft.state_json or "{}")
    return loaded if isinstance(loaded, dict) else {}


def _set_state(draft: Broadcast, **values: Any) -> None:
    draft.state_json = json.dumps({**_state(draft), **values})


def _root(session: Session, broadcast_id: int) -> Broadcast | None:
    """The announcement itself, also when asked about one of its reminder rounds."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is not None and broadcast.parent_id is not None:
        broadcast = session.get(Broadcast, broadcast.parent_id)
    if broadcast is None or broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.CANCELLED):
        return None
    return broadcast


def _round_count(session: Session, root_id: int) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(Broadcast).where(Broadcast.parent_id == root_id)
        ).one()
    )


def _sending_round(session: Session, root_id: int) -> bool:
    return (
        session.exec(
            select(Broadcast.id).where(
                Broadcast.parent_id == root_id, Broadcast.status == BroadcastStatus.SENDING
            )
        ).first()
        is not None
    )


def _acked_accounts(session: Session, root_id: int) -> set[int]:
    """Accounts that confirmed the announcement, in its first round or any reminder."""
    round_ids = select(Broadcast.id).where(Broadcast.parent_id == root_id)
    rows_ = session.exec(
        select(BroadcastDelivery.account_id).where(
            (col(BroadcastDelivery.broadcast_id) == root_id)
            | col(BroadcastDelivery.broadcast_id).in_(round_ids),
            col(BroadcastDelivery.acknowledged_at).is_not(None),
        )
    ).all()
    return set(rows_)


def _status_counts(session: Session, broadcast_ids: Iterable[int]) -> dict[DeliveryStatus, int]:
    found = session.exec(
        select(BroadcastDelivery.status, func.count())
        .where(col(BroadcastDelivery.broadcast_id).in_(list(broadcast_ids)))
        .group_by(col(BroadcastDelivery.status))
    ).all()
    return {DeliveryStatus(status): int(count) for status, count in found}


def _channel_counts(session: Session, broadcast_id: int) -> dict[str, tuple[int, int]]:
    """Per recipient channel: (delivered, recipients) of a round, channels in name order."""
    found = session.exec(
        select(BroadcastDelivery.channel, BroadcastDelivery.status, func.count())
        .where(BroadcastDelivery.broadcast_id == broadcast_id)
        .group_by(col(BroadcastDelivery.channel), col(BroadcastDelivery.status))
        .order_by(col(BroadcastDelivery.channel))
    ).all()
    counts: dict[str, tuple[int, int]] = {}
    for channel, status, count in found:
        delivered, total = counts.get(channel, (0, 0))
        sent = int(count) if status == DeliveryStatus.SENT else 0
        counts[channel] = (delivered + sent, total + int(count))
    return counts


def _delivery_by_message(
    session: Session, channel: str, chat_id: str, message_id: int
) -> BroadcastDelivery | None:
    return session.exec(
        select(BroadcastDelivery).where(
            BroadcastDelivery.channel == channel,
            BroadcastDelivery.chat_id == chat_id,
            BroadcastDelivery.message_id == message_id,
            BroadcastDelivery.status == DeliveryStatus.SENT,
        )
    ).first()


def _add_deliveries(
    session: Session, broadcast_id: int, recipients: Sequence[_Recipient], default_language: str
) -> None:
    """One pending row per recipient (the unique constraint refuses a second one)."""
    for recipient in recipients:
        account = recipient.account
        assert account.id is not None
        session.add(
            BroadcastDelivery(
                broadcast_id=broadcast_id,
                account_id=account.id,
                unit_id=recipient.unit.id,
                channel=account.channel,
                chat_id=account.chat_id,
                language=account.language or default_language,
            )
        )
    session.flush()


def _attachment_of(broadcast: Broadcast) -> Attachment | None:
    if not broadcast.attachment_ref or not broadcast.attachment_kind:
        return None
    return Attachment(
        AttachmentKind(broadcast.attachment_kind),
        broadcast.attachment_ref,
        broadcast.attachment_name,
    )
