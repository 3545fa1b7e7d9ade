"""What focal points send back: "Received" (a button, or typed where there are none) and
replies to an announcement, passed on to the office member who sent it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import col, select

from domain.broadcasts.records import BroadcastRecords, _delivery_by_message
from storage.broadcast_models import Broadcast, BroadcastDelivery, DeliveryStatus
from storage.models import Account, Unit


class AckResult(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY = "already"
    UNKNOWN = "unknown"  # not a delivered announcement of this person


@dataclass(frozen=True)
class ReplyRoute:
    """Where a focal point's reply to an announcement goes, and who they are."""

    broadcast_id: int
    sender_chat_id: str
    sender_language: str
    unit_name_vi: str
    unit_name_en: str
    person: str
    sender_channel: str = "telegram"  # the office member may be on another channel
    sender_account_id: int = 0

    def unit_name(self, language: str) -> str:
        return self.unit_name_en if language == "en" and self.unit_name_en else self.unit_name_vi


class Responses(BroadcastRecords):
    """Acknowledgments by message or by round, and where a reply goes."""

    def acknowledge(
        self, account_id: int, chat_id: str, message_id: int, *, channel: str = "telegram"
    ) -> AckResult:
        """The "Received" button under a delivered announcement (found by its message)."""
        with self._db.transaction() as session:
            delivery = _delivery_by_message(session, channel, chat_id, message_id)
            if delivery is None or delivery.account_id != account_id:
                return AckResult.UNKNOWN
            return self._confirm(delivery)

    def acknowledge_round(self, account_id: int, broadcast_id: int) -> AckResult:
        """ "Received" typed on a channel whose messages carry no button (Zalo): by the round."""
        with self._db.transaction() as session:
            delivery = session.exec(
                select(BroadcastDelivery).where(
                    BroadcastDelivery.broadcast_id == broadcast_id,
                    BroadcastDelivery.account_id == account_id,
                    BroadcastDelivery.status == DeliveryStatus.SENT,
                )
            ).first()
            if delivery is None:
                return AckResult.UNKNOWN
            return self._confirm(delivery)

    def awaiting_confirmation(self, account_id: int) -> int | None:
        """The latest round delivered to this person that asks "Received" and has none yet."""
        with self._db.transaction() as session:
            row = session.exec(
                select(BroadcastDelivery.broadcast_id)
                .join(Broadcast, col(Broadcast.id) == col(BroadcastDelivery.broadcast_id))
                .where(
                    BroadcastDelivery.account_id == account_id,
                    BroadcastDelivery.status == DeliveryStatus.SENT,
                    col(BroadcastDelivery.acknowledged_at).is_(None),
                    col(Broadcast.ack_requested).is_(True),
                )
                .order_by(col(BroadcastDelivery.id).desc())
                .limit(1)
            ).first()
            return int(row) if row is not None else None

    def _confirm(self, delivery: BroadcastDelivery) -> AckResult:
        if delivery.acknowledged_at is not None:
            return AckResult.ALREADY
        delivery.acknowledged_at = self._clock.now()
        return AckResult.CONFIRMED

    def reply_route(
        self, chat_id: str, message_id: int, *, channel: str = "telegram"
    ) -> ReplyRoute | None:
        """Where a reply to one of our announcement messages goes, or None if it is not one."""
        with self._db.transaction() as session:
            delivery = _delivery_by_message(session, channel, chat_id, message_id)
            if delivery is None:
                return None
            broadcast = session.get(Broadcast, delivery.broadcast_id)
            account = session.get(Account, delivery.account_id)
            unit = session.get(Unit, delivery.unit_id) if delivery.unit_id else None
            sender = session.get(Account, broadcast.sender_account_id) if broadcast else None
            if broadcast is None or account is None:
                return None
            return ReplyRoute(
                broadcast_id=broadcast.parent_id or delivery.broadcast_id,
                sender_chat_id=broadcast.sender_chat_id,
                sender_language=(sender.language if sender else None) or self._default_language,
                unit_name_vi=unit.name_vi if unit else "",
                unit_name_en=unit.name_en if unit else "",
                person=account.display_name or account.external_id,
                sender_channel=sender.channel if sender is not None else broadcast.channel,
                sender_account_id=broadcast.sender_account_id,
            )
