"""What the Zalo adapter keeps between messages: each chat's menu (ids seen: the inbox)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from domain.clock import Clock
from storage.db import Database
from storage.zalo_models import ZaloChatState
from zalo.menus import Menu


class ZaloStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def menu(self, chat_id: str) -> Menu | None:
        with self._db.transaction() as session:
            state = session.exec(
                select(ZaloChatState).where(ZaloChatState.chat_id == chat_id)
            ).first()
            return Menu.from_json(state.menu_json) if state and state.menu_json != "{}" else None

    def remember_menu(self, chat_id: str, menu: Menu | None) -> None:
        """Keep ``menu`` as what a typed number means in this chat (None: nothing offered)."""
        encoded = menu.to_json() if menu is not None else "{}"
        try:
            self._write_menu(chat_id, encoded)
        except IntegrityError:  # a reminder and a reply created the chat's row at once
            self._write_menu(chat_id, encoded)

    def _write_menu(self, chat_id: str, encoded: str) -> None:
        now = self._clock.now()
        with self._db.transaction() as session:
            state = session.exec(
                select(ZaloChatState).where(ZaloChatState.chat_id == chat_id)
            ).first()
            if state is None:
                session.add(ZaloChatState(chat_id=chat_id, menu_json=encoded, updated_at=now))
            else:
                state.menu_json, state.updated_at = encoded, now
