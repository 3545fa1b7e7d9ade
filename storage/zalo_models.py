"""Tables of the Zalo adapter: what each chat was last offered, updates seen, messages sent.

Zalo has no buttons, so the adapter numbers the choices it shows and must remember them, per
chat, to read a typed "1" back after a restart. (Message ids seen, to apply a repeated webhook
delivery once, are in ``storage.inbox`` since migration 0006.) The free plan limits outgoing
messages per month, so they are counted here (the warnings to the office about them are rows
of the reminder ledger). Times are aware UTC datetimes (see ``UTCDateTime``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _utc_column(*, index: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=False, index=index)


class ZaloChatState(SQLModel, table=True):
    """The numbered choices last shown in one Zalo chat (JSON), and the step they belong to."""

    __tablename__ = "zalo_chat_state"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: str = Field(unique=True, max_length=64)
    menu_json: str = Field(default="{}")
    updated_at: datetime = Field(sa_column=_utc_column())


class ZaloUsage(SQLModel, table=True):
    """Outgoing Zalo messages in one month ("2023-05", local time) and the last warning given."""

    __tablename__ = "zalo_usage"

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(unique=True, max_length=7)
    sent: int = Field(default=0)
    updated_at: datetime = Field(sa_column=_utc_column())
