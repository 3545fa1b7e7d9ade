"""Broadcast tables: an announcement (or its draft) and the ledger of its deliveries.

Times are aware UTC datetimes (see ``UTCDateTime``). A delivery row exists once per
(broadcast, account): the unique constraint, not the sending code, is what makes "one message
per person per round" hold across restarts.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class BroadcastStatus(StrEnum):
    DRAFT = "draft"  # being composed: the sender's conversation state
    SENDING = "sending"  # confirmed: its deliveries are being sent (or resumed)
    DONE = "done"  # every delivery is sent or failed, and the sender has the report
    CANCELLED = "cancelled"  # a draft the sender gave up


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def _utc_column(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Broadcast(SQLModel, table=True):
    """An announcement of the standing office, from draft to report; reminders are rounds."""

    __tablename__ = "broadcast"
    __table_args__ = (
        # One draft per sender: the draft is the compose conversation's state.
        Index(
            "uq_broadcast_draft_sender",
            "sender_account_id",
            unique=True,
            sqlite_where=text("status = 'DRAFT'"),
            postgresql_where=text("status = 'DRAFT'"),
        ),
        # Reminder rounds are numbered: two office members pressing "Remind" at once make one.
        UniqueConstraint("parent_id", "round_no"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default="telegram", max_length=16)  # where it was composed
    sender_account_id: int = Field(foreign_key="account.id", index=True)
    sender_chat_id: str = Field(max_length=64)
    status: BroadcastStatus = Field(default=BroadcastStatus.DRAFT, index=True)
    # Where the draft is: "content", "audience", "period", "units" or "preview".
    step: str = Field(default="content", max_length=16)
    text: str = Field(default="")
    attachment_kind: str | None = Field(default=None, max_length=16)  # "photo" or "document"
    attachment_ref: str | None = Field(default=None, max_length=256)  # the channel's file id
    attachment_name: str | None = Field(default=None, max_length=200)
    ack_requested: bool = Field(default=True)  # carries a "Received" button
    # "all", "departments", "organisations", "localities", "missing" or "units".
    audience_kind: str | None = Field(default=None, max_length=16)
    # The period key for "missing", a JSON list of unit codes for "units".
    audience_value: str | None = Field(default=None)
    state_json: str = Field(default="{}")  # compose details, e.g. the period keys offered
    # A reminder round points at the announcement it repeats.
    parent_id: int | None = Field(default=None, foreign_key="broadcast.id", index=True)
    round_no: int = Field(default=0)  # 0: the announcement; 1, 2…: its reminder rounds
    total: int = Field(default=0)  # deliveries created when it was confirmed
    progress_message_id: int | None = Field(default=None)
    progress_shown: str = Field(default="", max_length=64)  # what the progress message says
    created_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime = Field(sa_column=_utc_column())
    queued_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class BroadcastDelivery(SQLModel, table=True):
    """One recipient of one broadcast round: pending, then sent (message id) or failed (why)."""

    __tablename__ = "broadcast_delivery"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "account_id"),
        Index("ix_broadcast_delivery_broadcast_status", "broadcast_id", "status"),
        # Button presses and replies find their delivery by the message they belong to.
        Index("ix_broadcast_delivery_chat_message", "chat_id", "message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(foreign_key="broadcast.id")
    account_id: int = Field(foreign_key="account.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    # Where the recipient registered ("telegram" or "zalo"): the channel that sends it.
    channel: str = Field(default="telegram", max_length=16)
    chat_id: str = Field(max_length=64)
    language: str = Field(default="vi", max_length=8)
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING)
    attempts: int = Field(default=0)  # failed attempts so far (flood waits are not counted)
    message_id: int | None = Field(default=None)
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    failed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # "forbidden", "bad_request", "transient" or "retry_after", and the channel's words.
    failure_kind: str | None = Field(default=None, max_length=16)
    reason: str = Field(default="", max_length=500)
    acknowledged_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
