"""Report periods: the plan's yearly periods (from the calendar) and ad-hoc requests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from domain.audit import record_action
from domain.clock import Clock
from domain.errors import DomainError
from domain.i18n import N_
from storage.db import Database
from storage.models import ReportPeriod

# A report that was never submitted can still be sent late for this long after its deadline;
# after that /report no longer offers it (the office can still reopen it).
LATE_WINDOW = timedelta(days=90)


class PeriodSource(Protocol):
    """What the calendar gives for a year (see ``domain.calendar.Period``)."""

    @property
    def key(self) -> str: ...
    @property
    def form_key(self) -> str: ...
    @property
    def year(self) -> int: ...
    @property
    def label_vi(self) -> str: ...
    @property
    def label_en(self) -> str: ...
    @property
    def opens_on(self) -> date: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def due_display(self) -> date: ...


class CalendarLike(Protocol):
    def periods(self, year: int) -> Sequence[PeriodSource]: ...


@dataclass(frozen=True)
class PeriodView:
    id: int
    key: str
    form_key: str
    year: int
    label_vi: str
    label_en: str
    opens_at: datetime
    due_at: datetime
    due_display: date
    audience: frozenset[str] | None
    ad_hoc: bool

    def label(self, language: str) -> str:
        return self.label_en if language == "en" and self.label_en else self.label_vi

    def applies_to(self, unit_code: str) -> bool:
        return self.audience is None or unit_code in self.audience


def view(period: ReportPeriod) -> PeriodView:
    assert period.id is not None
    audience = frozenset(json.loads(period.audience)) if period.audience else None
    return PeriodView(
        id=period.id,
        key=period.key,
        form_key=period.form_key,
        year=period.year,
        label_vi=period.label_vi,
        label_en=period.label_en,
        opens_at=period.opens_at,
        due_at=period.due_at,
        due_display=date.fromisoformat(period.due_display),
        audience=audience,
        ad_hoc=period.ad_hoc,
    )


class PeriodService:
    def __init__(
        self, db: Database, clock: Clock, calendar: CalendarLike, tz: ZoneInfo, form_keys: set[str]
    ) -> None:
        self._db = db
        self._clock = clock
        self._calendar = calendar
        self._tz = tz
        self._form_keys = form_keys

    def ensure_year(self, year: int) -> int:
        """Create the plan's periods of ``year`` that do not exist yet; return how many."""
        created = 0
        now = self._clock.now()
        with self._db.transaction() as session:
            existing = set(
                session.exec(select(ReportPeriod.key).where(ReportPeriod.year == year)).all()
            )
            for source in self._calendar.periods(year):
                if source.key in existing or source.form_key not in self._form_keys:
                    continue
                session.add(
                    ReportPeriod(
                        key=source.key,
                        form_key=source.form_key,
                        year=source.year,
                        label_vi=source.label_vi,
                        label_en=source.label_en,
                        opens_at=datetime.combine(source.opens_on, time(0, 0), self._tz),
                        due_at=source.due_at,
                        due_display=source.due_display.isoformat(),
                        created_at=now,
                    )
                )
                created += 1
        return created

    def add_ad_hoc(
        self,
        *,
        title: str,
        due_display: date,
        form_key: str = "ad_hoc",
        unit_codes: Sequence[str] | None = None,
        actor: str,
    ) -> PeriodView:
        """An ad-hoc request: open now, due before ``due_display`` (local midnight)."""
        title = title.strip()
        if not title:
            raise DomainError(N_("An ad-hoc request needs a title."))
        if form_key not in self._form_keys:
            raise DomainError(N_("There is no form {form}."), form=form_key)
        now = self._clock.now()
        due_at = datetime.combine(due_display, time(0, 0), self._tz)
        if due_at <= now:
            raise DomainError(N_("The deadline must be in the future."))
        with self._db.transaction() as session:
            count = len(session.exec(select(ReportPeriod.id).where(col(ReportPeriod.ad_hoc))).all())
            period = ReportPeriod(
                key=f"ad_hoc:{count + 1}",
                form_key=form_key,
                year=due_display.year,
                label_vi=title[:300],
                label_en=title[:300],
                opens_at=now,
                due_at=due_at,
                due_display=due_display.isoformat(),
                audience=json.dumps(sorted(unit_codes)) if unit_codes else None,
                ad_hoc=True,
                created_by=actor,
                created_at=now,
            )
            session.add(period)
            session.flush()
            record_action(
                session,
                at=now,
                actor=actor,
                action="period.add",
                target=period.key,
                title=title,
                due=due_display.isoformat(),
            )
            return view(period)

    def by_key(self, key: str) -> PeriodView | None:
        with self._db.transaction() as session:
            period = session.exec(select(ReportPeriod).where(ReportPeriod.key == key)).first()
            return view(period) if period else None

    def get(self, period_id: int) -> PeriodView | None:
        with self._db.transaction() as session:
            period = session.get(ReportPeriod, period_id)
            return view(period) if period else None

    def all(self, year: int | None = None) -> list[PeriodView]:
        with self._db.transaction() as session:
            return [view(p) for p in _periods(session, year)]

    def open_now(self) -> list[PeriodView]:
        """Periods that have opened and are not long past their deadline."""
        now = self._clock.now()
        with self._db.transaction() as session:
            rows = session.exec(
                select(ReportPeriod)
                .where(col(ReportPeriod.opens_at) <= now)
                .where(col(ReportPeriod.due_at) > now - LATE_WINDOW)
                .order_by(col(ReportPeriod.due_at))
            ).all()
            return [view(p) for p in rows]

    def resolve(self, text: str | None) -> PeriodView | None:
        """A period named by key ("six_month:2023"), or the latest opened one when empty."""
        if text:
            return self.by_key(text.strip())
        now = self._clock.now()
        with self._db.transaction() as session:
            period = session.exec(
                select(ReportPeriod)
                .where(col(ReportPeriod.opens_at) <= now)
                .order_by(col(ReportPeriod.due_at).desc())
            ).first()
            return view(period) if period else None


def _periods(session: Session, year: int | None) -> Sequence[ReportPeriod]:
    query = select(ReportPeriod).order_by(col(ReportPeriod.due_at))
    if year is not None:
        query = query.where(ReportPeriod.year == year)
    return session.exec(query).all()
