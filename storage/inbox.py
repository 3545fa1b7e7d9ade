"""The inbox: every update is written down before Telegram is told it arrived.

Long polling confirms updates with the next ``getUpdates`` call, and python-telegram-bot makes
that call as soon as it has queued the batch, before the handlers ran. A crash in between lost
what a focal point had just typed. Here an update is stored first (``add``), marked ``done``
when its handling finished, and replayed at the next start if it never was. A done row stays a
day so that a copy Telegram delivers again (confirmation lost in a crash) is recognised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, UniqueConstraint, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, select

from storage.db import Database
from storage.types import UTCDateTime

PENDING, DONE, GIVEN_UP = "pending", "done", "given_up"
KEEP_DONE = timedelta(days=1)
MAX_ATTEMPTS = 3  # an update that keeps killing the process is not replayed forever


class InboundUpdate(SQLModel, table=True):
    __tablename__ = "inbound_update"
    __table_args__ = (UniqueConstraint("channel", "update_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    update_id: int
    payload_json: str
    status: str = Field(default=PENDING, max_length=16, index=True)
    attempts: int = Field(default=0)  # how many times it was handed to the handlers
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


@dataclass(frozen=True)
class StoredUpdate:
    update_id: int
    payload_json: str


class Inbox:
    def __init__(self, db: Database, now: Callable[[], datetime], channel: str) -> None:
        self._db = db
        self._now = now
        self._channel = channel
        self._added = 0

    def add(self, update_id: int, payload_json: str) -> bool:
        """Store an update; False if it is already here (a copy delivered again)."""
        try:
            with self._db.transaction() as session:
                session.add(
                    InboundUpdate(
                        channel=self._channel,
                        update_id=update_id,
                        payload_json=payload_json,
                        attempts=1,
                        received_at=self._now(),
                    )
                )
        except IntegrityError:
            return False
        self._added += 1
        if self._added % 1000 == 0:
            self.forget_old()
        return True

    def done(self, update_id: int) -> None:
        with self._db.transaction() as session:
            session.execute(
                update(InboundUpdate)
                .where(
                    InboundUpdate.channel == self._channel,  # type: ignore[arg-type]
                    InboundUpdate.update_id == update_id,  # type: ignore[arg-type]
                )
                .values(status=DONE)
            )

    def to_replay(self) -> list[StoredUpdate]:
        """The updates a previous run took but never finished, oldest first; counts the try.

        One that was already handed over ``MAX_ATTEMPTS`` times is given up (and logged by
        the caller through its absence): it is more likely the cause of the crashes.
        """
        with self._db.transaction() as session:
            rows = session.exec(
                select(InboundUpdate)
                .where(InboundUpdate.channel == self._channel, InboundUpdate.status == PENDING)
                .order_by(InboundUpdate.update_id)  # type: ignore[arg-type]
            ).all()
            replay = []
            for row in rows:
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = GIVEN_UP
                else:
                    row.attempts += 1
                    replay.append(StoredUpdate(row.update_id, row.payload_json))
                session.add(row)
            return replay

    def given_up(self) -> int:
        with self._db.transaction() as session:
            return len(
                session.exec(
                    select(InboundUpdate.id).where(
                        InboundUpdate.channel == self._channel, InboundUpdate.status == GIVEN_UP
                    )
                ).all()
            )

    def forget_old(self) -> None:
        """Drop finished rows older than a day (a redelivered copy comes within seconds)."""
        with self._db.transaction() as session:
            session.execute(
                delete(InboundUpdate).where(
                    InboundUpdate.status != PENDING,  # type: ignore[arg-type]
                    InboundUpdate.received_at < self._now() - KEEP_DONE,  # type: ignore[arg-type]
                )
            )
