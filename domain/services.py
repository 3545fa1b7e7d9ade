"""The set of domain services one running bot (or CLI command) uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from domain.accounts import AccountService
from domain.broadcasts import BroadcastService, PeriodChoice
from domain.calendar import DEFAULT_CALENDAR, CalendarConfig, load_calendar
from domain.clock import Clock
from domain.forms import DEFAULT_FORMS_DIR, Form, load_forms
from domain.lifecycle import DEFAULT_RETENTION, DataLifecycle
from domain.periods import PeriodService
from domain.registration import RegistrationService
from domain.reminders import ReminderService
from domain.reporting import ReportingService
from domain.units import UnitCatalogue
from storage.db import Database


@dataclass(frozen=True)
class Services:
    db: Database
    clock: Clock
    tz: ZoneInfo
    accounts: AccountService
    registration: RegistrationService
    units: UnitCatalogue
    forms: dict[str, Form]
    calendar: CalendarConfig
    periods: PeriodService
    reporting: ReportingService
    reminders: ReminderService
    broadcasts: BroadcastService
    lifecycle: DataLifecycle


def build_services(
    db: Database,
    clock: Clock,
    *,
    default_language: str = "vi",
    config_admins: Iterable[tuple[str, str]] = (),
    invite_ttl: timedelta = timedelta(days=14),
    tz: ZoneInfo | None = None,
    forms_dir: Path = DEFAULT_FORMS_DIR,
    calendar_path: Path = DEFAULT_CALENDAR,
    max_users_per_channel: Mapping[str, int] | None = None,
    retention: timedelta = DEFAULT_RETENTION,
) -> Services:
    """Build every service; broken form or calendar definitions raise here, before start."""
    zone = tz or ZoneInfo("Asia/Ho_Chi_Minh")
    forms = load_forms(forms_dir)
    calendar = load_calendar(calendar_path)
    periods = PeriodService(db, clock, calendar, zone, set(forms))
    accounts = AccountService(
        db, clock, default_language=default_language, config_admins=config_admins
    )
    reporting = ReportingService(db, clock, forms, periods, zone)
    return Services(
        db=db,
        clock=clock,
        tz=zone,
        accounts=accounts,
        registration=RegistrationService(
            db, clock, invite_ttl=invite_ttl, max_users_per_channel=max_users_per_channel
        ),
        units=UnitCatalogue(db, clock),
        forms=forms,
        calendar=calendar,
        periods=periods,
        reporting=reporting,
        reminders=ReminderService(db, clock, calendar, periods, reporting, accounts, zone),
        broadcasts=BroadcastService(
            db,
            clock,
            accounts,
            submission_status=ReportSubmissionStatus(periods, reporting),
            default_language=default_language,
        ),
        lifecycle=DataLifecycle(db, clock, retention=retention),
    )


class ReportSubmissionStatus:
    """What broadcasts ask the reports: open periods, units that have not submitted."""

    def __init__(self, periods: PeriodService, reporting: ReportingService) -> None:
        self._periods, self._reporting = periods, reporting

    def open_periods(self) -> list[PeriodChoice]:
        return [PeriodChoice(p.key, p.label_vi, p.label_en) for p in self._periods.open_now()]

    def missing_unit_ids(self, period_key: str) -> set[int]:
        period = self._periods.by_key(period_key)
        if period is None:
            return set()
        return {
            s.unit.id
            for s in self._reporting.snapshots(period, submitted_answers=False)
            if s.status != "submitted"
        }
