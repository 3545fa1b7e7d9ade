"""The inbox: every update is written down before Telegram is told it arrived.

Long polling confirms updates with the next ``getUpdates`` call, and python-telegram-bot makes
that call as soon as it has queued the batch, before the handlers ran. A crash in between lost
what a focal point had just typed. Here an update is stored first (``add``), marked ``done``
when its handling finished, and replayed at the next start if it never was. A done row stays a
day so that a copy Telegram delivers again (confirmation lost in a crash) is recognised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, UniqueConstraint, delete, insert, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Field, SQLModel, select

from storage.db import Database
from storage.types import UTCDateTime

log = logging.getLogger(__name__)

PENDING, DONE, GIVEN_UP = "pending", "done", "given_up"
KEEP_DONE = timedelta(days=1)
# Replays started and never finished before an update is taken for the cause of the crashes.
# Not fewer: under load a reply can wait seconds for its turn, and a crash loop of other
# origin then catches the same update in flight again and again.
MAX_ATTEMPTS = 5


class InboundUpdate(SQLModel, table=True):
    __tablename__ = "inbound_update"
    __table_args__ = (UniqueConstraint("channel", "ref"),)

    id: int | None = Field(default=None, primary_key=True)  # arrival order: replayed in it
    channel: str = Field(max_length=16)
    ref: str = Field(max_length=64)  # the channel's id of the update (Telegram update_id…)
    payload_json: str
    status: str = Field(default=PENDING, max_length=16, index=True)
    attempts: int = Field(default=0)  # how many replays of it started
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


@dataclass(frozen=True)
class StoredUpdate:
    ref: str
    seq: int  # its row id: grows with arrival, within a chat too
    payload_json: str


class Inbox:
    def __init__(self, db: Database, now: Callable[[], datetime], channel: str) -> None:
        self.db = self._db = db
        self._now = now
        self._channel = channel
        self._added = 0
        self._replaying: set[str] = set()  # handed out by to_replay, not started yet

    # add/started/done run for every update: SQLAlchemy core on a plain connection, no ORM
    # session (a quarter of a millisecond each instead of about twice that).
    def add(self, ref: str, payload_json: str) -> int | None:
        """Store an update; its sequence number, or None if it is here already (a copy)."""
        try:
            with self._db.engine.begin() as connection:
                result = connection.execute(
                    insert(InboundUpdate).values(
                        channel=self._channel,
                        ref=ref,
                        payload_json=payload_json,
                        status=PENDING,
                        attempts=0,
                        received_at=self._now(),
                    )
                )
        except IntegrityError:
            return None
        self._added += 1
        if self._added % 1000 == 0:
            try:
                self.forget_old()
            except OperationalError as error:  # the update is stored: that is what matters
                log.warning("could not drop old inbox rows: %s", error.orig)
        (seq,) = result.inserted_primary_key or (None,)
        return int(seq) if seq is not None else None

    def started(self, ref: str) -> None:
        """Its handling begins. A replay's start is counted, to find one causing the crashes;
        a first handling's is not written (it would cost every update a write)."""
        if ref in self._replaying:
            self._replaying.discard(ref)
            self._set(ref, attempts=InboundUpdate.attempts + 1)

    def done(self, ref: str) -> None:
        self._set(ref, status=DONE)

    def _set(self, ref: str, **values: object) -> None:
        with self._db.engine.begin() as connection:
            connection.execute(
                update(InboundUpdate)
                .where(
                    InboundUpdate.channel == self._channel,  # type: ignore[arg-type]
                    InboundUpdate.ref == ref,  # type: ignore[arg-type]
                )
                .values(**values)
            )

    def to_replay(self) -> list[StoredUpdate]:
        """The updates a previous run took but never finished, oldest first.

        One whose replayed handling started ``MAX_ATTEMPTS`` times without finishing is given
        up: it is more likely the cause of the crashes than their victim. (Runs that died
        before reaching an update do not count against it; neither does the first handling,
        which is not recorded to spare every update a write.)
        """
        with self._db.transaction() as session:
            rows = session.exec(
                select(InboundUpdate)
                .where(InboundUpdate.channel == self._channel, InboundUpdate.status == PENDING)
                .order_by(InboundUpdate.id)  # type: ignore[arg-type]
            ).all()
            replay, given_up = [], 0
            for row in rows:
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = GIVEN_UP
                    session.add(row)
                    given_up += 1
                else:
                    replay.append(StoredUpdate(row.ref, row.id or 0, row.payload_json))
        if given_up:
            log.error(
                "%s: gave up %d update(s) whose replays kept being cut short",
                self._channel,
                given_up,
            )
        if replay:
            log.warning(
                "%s: replaying %d update(s) a previous run did not finish",
                self._channel,
                len(replay),
            )
        self._replaying.update(item.ref for item in replay)
        return replay

    def forget_old(self) -> None:
        """Drop finished rows older than a day (a redelivered copy comes within seconds)."""
        with self._db.transaction() as session:
            session.execute(
                delete(InboundUpdate).where(
                    InboundUpdate.status != PENDING,  # type: ignore[arg-type]
                    InboundUpdate.received_at < self._now() - KEEP_DONE,  # type: ignore[arg-type]
                )
            )
