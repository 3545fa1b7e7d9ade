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

from sqlalchemy import Column, UniqueConstraint, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, select

from storage.db import Database
from storage.types import UTCDateTime

PENDING, DONE, GIVEN_UP = "pending", "done", "given_up"
KEEP_DONE = timedelta(days=1)
# Replays started and never finished before an update is taken for the cause of the crashes.
# Not fewer: under load a reply can wait seconds for its turn, and a crash loop of other
# origin then catches the same update in flight again and again.
MAX_ATTEMPTS = 5


class InboundUpdate(SQLModel, table=True):
    __tablename__ = "inbound_update"
    __table_args__ = (UniqueConstraint("channel", "update_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    update_id: int
    payload_json: str
    status: str = Field(default=PENDING, max_length=16, index=True)
    attempts: int = Field(default=0)  # how many replays of it started
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

    # add/started/done run for every update: SQLAlchemy core on a plain connection, no ORM
    # session (a quarter of a millisecond each instead of about twice that).
    def add(self, update_id: int, payload_json: str) -> bool:
        """Store an update; False if it is already here (a copy delivered again)."""
        try:
            with self._db.engine.begin() as connection:
                connection.execute(
                    insert(InboundUpdate).values(
                        channel=self._channel,
                        update_id=update_id,
                        payload_json=payload_json,
                        status=PENDING,
                        attempts=0,
                        received_at=self._now(),
                    )
                )
        except IntegrityError:
            return False
        self._added += 1
        if self._added % 1000 == 0:
            self.forget_old()
        return True

    def started(self, update_id: int) -> None:
        """Its handling begins again after a crash: counted, to find one that causes them."""
        self._set(update_id, attempts=InboundUpdate.attempts + 1)

    def done(self, update_id: int) -> None:
        self._set(update_id, status=DONE)

    def _set(self, update_id: int, **values: object) -> None:
        with self._db.engine.begin() as connection:
            connection.execute(
                update(InboundUpdate)
                .where(
                    InboundUpdate.channel == self._channel,  # type: ignore[arg-type]
                    InboundUpdate.update_id == update_id,  # type: ignore[arg-type]
                )
                .values(**values)
            )

    def to_replay(self) -> tuple[list[StoredUpdate], int]:
        """The updates a previous run took but never finished, oldest first; how many given up.

        One whose replayed handling started ``MAX_ATTEMPTS`` times without finishing is given
        up: it is more likely the cause of the crashes than their victim. (Runs that died
        before reaching an update do not count against it; neither does the first handling,
        which is not recorded to spare every update a write.)
        """
        with self._db.transaction() as session:
            rows = session.exec(
                select(InboundUpdate)
                .where(InboundUpdate.channel == self._channel, InboundUpdate.status == PENDING)
                .order_by(InboundUpdate.update_id)  # type: ignore[arg-type]
            ).all()
            replay, given_up = [], 0
            for row in rows:
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = GIVEN_UP
                    session.add(row)
                    given_up += 1
                else:
                    replay.append(StoredUpdate(row.update_id, row.payload_json))
            return replay, given_up

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
