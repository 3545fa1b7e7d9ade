"""Who an announcement reaches: the audience kinds the office picks from, the units each one
names, and one recipient per account among their focal points, on any channel.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum

from sqlmodel import Session, col, select

from domain.broadcasts.contracts import PeriodChoice
from domain.broadcasts.records import BroadcastRecords, _Recipient
from domain.i18n import N_
from storage import repositories as repo
from storage.broadcast_models import Broadcast
from storage.models import Account, FocalPoint, Unit, UnitKind


class AudienceKind(StrEnum):
    ALL = "all"
    DEPARTMENTS = "departments"
    ORGANISATIONS = "organisations"
    LOCALITIES = "localities"  # districts and communes
    MISSING = "missing"  # units that have not submitted a period
    UNITS = "units"  # units chosen by code


_UNIT_KINDS: dict[AudienceKind, frozenset[UnitKind]] = {
    AudienceKind.DEPARTMENTS: frozenset({UnitKind.DEPARTMENT}),
    AudienceKind.ORGANISATIONS: frozenset({UnitKind.ORGANISATION}),
    AudienceKind.LOCALITIES: frozenset({UnitKind.DISTRICT, UnitKind.COMMUNE}),
}

_AUDIENCE_LABELS: dict[AudienceKind, str] = {
    AudienceKind.ALL: N_("All focal points"),
    AudienceKind.DEPARTMENTS: N_("Departments"),
    AudienceKind.ORGANISATIONS: N_("Organisations"),
    AudienceKind.LOCALITIES: N_("Districts and communes"),
    AudienceKind.MISSING: N_("Units that have not submitted…"),
    AudienceKind.UNITS: N_("Chosen units (type their codes)"),
}


class Audiences(BroadcastRecords):
    """The open periods to offer, the units of a draft's audience and their recipients."""

    def _open_periods(self) -> Sequence[PeriodChoice]:
        return self._submissions.open_periods() if self._submissions is not None else ()

    def _audience_units(self, session: Session, draft: Broadcast) -> list[Unit]:
        """The active units the draft's audience names, in catalogue order."""
        units = list(repo.units(session))
        kind = AudienceKind(draft.audience_kind or AudienceKind.ALL)
        if kind in _UNIT_KINDS:
            return [u for u in units if u.kind in _UNIT_KINDS[kind]]
        if kind is AudienceKind.MISSING:
            if self._submissions is None or not draft.audience_value:
                return []
            missing = self._submissions.missing_unit_ids(draft.audience_value)
            return [u for u in units if u.id in missing]
        if kind is AudienceKind.UNITS:
            codes = set(json.loads(draft.audience_value or "[]"))
            return [u for u in units if u.code in codes]
        return units

    def _recipients(self, session: Session, units: Sequence[Unit]) -> list[_Recipient]:
        """One recipient per account: every active focal point of the units, on any channel."""
        order = {u.id: index for index, u in enumerate(units)}
        if not order:
            return []
        found = session.exec(
            select(FocalPoint, Account)
            .join(Account, col(Account.id) == col(FocalPoint.account_id))
            .where(col(FocalPoint.unit_id).in_(list(order)), col(FocalPoint.active).is_(True))
            .order_by(col(FocalPoint.registered_at), col(FocalPoint.id))
        ).all()
        by_unit = {u.id: u for u in units}
        ordered = sorted(found, key=lambda pair: order[pair[0].unit_id])
        recipients: dict[int, _Recipient] = {}
        for point, account in ordered:
            assert account.id is not None
            recipients.setdefault(account.id, _Recipient(account, by_unit[point.unit_id]))
        return list(recipients.values())
