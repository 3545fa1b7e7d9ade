"""The announcement service the channels and commands call: the parts put together."""

from __future__ import annotations

from domain.broadcasts.compose import Composer
from domain.broadcasts.ledger import DeliveryLedger
from domain.broadcasts.overview import OfficeOverview
from domain.broadcasts.responses import Responses


class BroadcastService(Composer, DeliveryLedger, Responses, OfficeOverview):
    """Compose announcements, pick their audience, keep the delivery ledger and the acks."""
