"""Lateness at the deadline, and who counts as "not submitted", with reports sent for real.

The plan says "báo cáo 6 tháng trước ngày 5/6": *before* 5 June. ``content/calendar.yaml``
(``deadline: cutoff: start_of_day``) and ``domain/calendar.py`` (``DeadlineRule``) make that
``due_at`` = 5 June 00:00 Asia/Ho_Chi_Minh (4 June 17:00 UTC), shown as ``due_display`` 5 June:
a report is on time until the end of 4 June, late from the first instant of 5 June. The
lenient ``end_of_day`` reading moves ``due_at`` to 6 June 00:00 and shows the same date.

Every report here is filled in and sent through ``ReportingService`` (typed answers, as on a
channel without buttons) into a real database with the clock injected, and read back the way
the office reads it: the stored version, the snapshots behind /status, the audience of
/remind and of an announcement to "units that have not submitted". Nothing is stubbed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlmodel import col, select

from domain.broadcasts import BroadcastQueued
from domain.calendar import DEFAULT_CALENDAR
from domain.clock import FixedClock
from domain.conversation import Outcome, Reply
from domain.i18n import translator_for
from domain.identity import ChannelIdentity, UserContext
from domain.overview import campaign_status, state_of
from domain.periods import PeriodView
from domain.reminders import Delivery, DeliveryStatus, Recipient
from domain.reporting import SubmissionNotice
from domain.services import ReportSubmissionStatus, Services
from storage.models import FormSession, Report, ReportVersion, Unit
from tests.conftest import ADMIN_ID, VN, open_services
from tests.forms_helpers import TYPED_ANSWERS, form_position

VI = translator_for("vi")
SIX_MONTH = "six_month:2023"
DISTRICT = "huyen-muong-te"
FILLED_AT = datetime(2023, 6, 4, 20, 0, tzinfo=VN)  # answers typed in the evening before


# ----------------------------------------------------------------------------- helpers


def focal_point(services: Services, user_id: int, unit_code: str) -> UserContext:
    """Register a focal point through a real invite, as the bot sees them afterwards."""
    identity = ChannelIdentity("telegram", str(user_id), str(user_id), f"Đầu mối {user_id}")
    invite = services.registration.create_invite(unit_code, actor="test")
    services.registration.register(identity, invite.code)
    return services.accounts.load(identity)


def position(services: Services, user: UserContext) -> str | None:
    """Where the user's form stands, read from the database (None: no form open)."""
    with services.db.transaction() as session:
        active = session.exec(
            select(FormSession).where(FormSession.chat_id == user.identity.chat_id)
        ).first()
        return None if active is None else form_position(active)


def fill(services: Services, user: UserContext, *, until: str = "<review>") -> None:
    """Type the district's answers through the service until the review (or question ``until``)."""
    chat_id = user.identity.chat_id
    services.reporting.start(user, VI, chat_id=chat_id)
    for _ in range(200):
        where = position(services, user)
        assert where is not None, "the form closed before the review"
        if where == until:
            return
        text = "có" if where == "<confirm>" else str(TYPED_ANSWERS[where])
        outcome = services.reporting.on_text(user, VI, chat_id=chat_id, text=text)
        assert outcome is not None and outcome.replies, f"no answer to {where}"
    raise AssertionError("the form did not end")


def send(services: Services, user: UserContext) -> SubmissionNotice:
    """Press "send" at the review (typed); the notice the office gets."""
    outcome = services.reporting.on_text(user, VI, chat_id=user.identity.chat_id, text="gửi")
    assert outcome is not None
    assert position(services, user) is None  # the form is closed: it was sent
    (notice,) = outcome.notices
    assert isinstance(notice, SubmissionNotice)
    return notice


def stored_version(services: Services, unit_code: str) -> ReportVersion:
    """The unit's one submitted version, as stored (the late flag is decided once, here)."""
    with services.db.transaction() as session:
        version = session.exec(
            select(ReportVersion)
            .join(Report, col(Report.id) == col(ReportVersion.report_id))
            .join(Unit, col(Unit.id) == col(Report.unit_id))
            .where(Unit.code == unit_code)
        ).one()
        session.expunge(version)
        return version


def six_month(services: Services) -> PeriodView:
    """The 6-month period of 2023, created from the calendar and read back from the database."""
    services.periods.ensure_year(2023)
    period = services.periods.by_key(SIX_MONTH)
    assert period is not None
    return period


def calendar_with_cutoff(folder: Path, cutoff: str) -> Path:
    """The shipped calendar with another reading of "trước ngày" (the only line changed)."""
    text = DEFAULT_CALENDAR.read_text(encoding="utf-8")
    assert text.count("cutoff: start_of_day") == 1
    path = folder / "calendar.yaml"
    path.write_text(text.replace("cutoff: start_of_day", f"cutoff: {cutoff}"), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- the deadline


def test_before_5_june_is_5_june_00_00_in_vietnam(services: Services) -> None:
    period = six_month(services)  # read back from the database, as every check reads it
    assert period.due_at == datetime(2023, 6, 5, 0, 0, tzinfo=VN)
    assert period.due_at == datetime(2023, 6, 4, 17, 0, tzinfo=UTC)
    assert period.due_display == date(2023, 6, 5)
    assert services.calendar.deadline.cutoff == "start_of_day"  # what the shipped file says
    assert services.calendar.deadline.last_day(period.due_at) == date(2023, 6, 4)
    assert VI.short_date(period.due_display) == "05/6/2023"  # "trước ngày 05/6/2023"


# (cutoff, the instant "send" is pressed, late?). Instants in Vietnam unless marked UTC.
BOUNDARY = [
    ("start_of_day", datetime(2023, 6, 4, 23, 59, tzinfo=VN), False),
    ("start_of_day", datetime(2023, 6, 4, 23, 59, 59, 999999, tzinfo=VN), False),
    ("start_of_day", datetime(2023, 6, 5, 0, 0, tzinfo=VN), True),  # the deadline instant
    ("start_of_day", datetime(2023, 6, 5, 23, 59, tzinfo=VN), True),  # on 5 June: not "before"
    ("start_of_day", datetime(2023, 6, 6, 0, 0, tzinfo=VN), True),  # the day after
    # 4 June 23:59 UTC is already 5 June 06:59 in Vietnam: late (a UTC-date check says on time).
    ("start_of_day", datetime(2023, 6, 4, 23, 59, tzinfo=UTC), True),
    ("end_of_day", datetime(2023, 6, 5, 0, 0, tzinfo=VN), False),
    ("end_of_day", datetime(2023, 6, 5, 23, 59, 59, tzinfo=VN), False),  # the deadline day
    ("end_of_day", datetime(2023, 6, 6, 0, 0, tzinfo=VN), True),  # the day after
]


@pytest.mark.parametrize(
    ("cutoff", "sent_at", "late"),
    [pytest.param(*case, id=f"{case[0]}-{case[1].isoformat()}") for case in BOUNDARY],
)
def test_a_report_sent_at_the_boundary(
    tmp_path: Path, clock: FixedClock, cutoff: str, sent_at: datetime, late: bool
) -> None:
    services = open_services(
        tmp_path / "services.sqlite3",
        clock,
        calendar_path=calendar_with_cutoff(tmp_path, cutoff),
    )
    try:
        period = six_month(services)
        first_late_day = date(2023, 6, 5) if cutoff == "start_of_day" else date(2023, 6, 6)
        assert period.due_at == datetime.combine(first_late_day, time(0), VN)
        assert period.due_display == date(2023, 6, 5)  # the text does not change with the rule
        focal = focal_point(services, 1001, DISTRICT)
        clock.set(FILLED_AT)
        fill(services, focal)
        clock.set(sent_at)
        notice = send(services, focal)

        assert notice.late is late  # what the office is told at once
        version = stored_version(services, DISTRICT)
        assert version.late is late
        assert version.submitted_at == sent_at
        # What /status shows: the same verdict in the counts, and not among the missing.
        snapshots = services.reporting.snapshots(period, submitted_answers=False)
        status = campaign_status(period, snapshots)
        assert status.counts["district"]["late" if late else "on_time"] == 1
        assert status.totals["late"] + status.totals["on_time"] == 1
        assert DISTRICT not in {s.unit.code for s in status.missing}
        single = services.reporting.snapshot(DISTRICT, period)  # the other read path
        assert (single.status, state_of(single)) == ("submitted", "late" if late else "on_time")
    finally:
        services.db.engine.dispose()


# ----------------------------------------------------------------------------- the audience


@dataclass
class RecordingNotifier:
    """The channel's side of /remind: records who would get a message, and says "sent"."""

    sent: list[tuple[Recipient, Reply]] = field(default_factory=list)

    async def send(self, recipient: Recipient, reply: Reply) -> Delivery:
        self.sent.append((recipient, reply))
        return Delivery(DeliveryStatus.SENT, message_id=str(len(self.sent)))

    def units(self) -> list[str]:
        """The codes of the units whose focal points got a message, sorted."""
        return sorted(r.unit.code for r, _ in self.sent if r.unit is not None)


def button(outcome: Outcome, verb: str, *, arg: str | None = None, label: str | None = None) -> str:
    """The code of a button the service really offered (no invented callback data)."""
    codes = [
        action.code
        for reply in outcome.replies
        for row in reply.actions
        for action in row
        if action.code.split(":")[0] == verb
        and (arg is None or action.code.split(":")[3:] == [arg])
        and (label is None or action.label == label)
    ]
    assert len(codes) == 1, (verb, arg, label, [r.actions for r in outcome.replies])
    return codes[0]


def announce_to_missing(services: Services, period: PeriodView) -> set[str]:
    """Queue an announcement to "units that have not submitted" as the office; its chats."""
    office = services.accounts.load(ChannelIdentity("telegram", str(ADMIN_ID), str(ADMIN_ID)))
    broadcasts = services.broadcasts
    broadcasts.compose(office, VI)
    screen = broadcasts.on_input(office, VI, text="Đề nghị các đơn vị gửi báo cáo 6 tháng.")
    assert screen is not None
    screen = broadcasts.on_action(office, VI, button(screen, "aud", arg="missing"))
    screen = broadcasts.on_action(office, VI, button(screen, "per", label=period.label_vi))
    queued = broadcasts.on_action(office, VI, button(screen, "send"))
    (notice,) = queued.notices
    assert isinstance(notice, BroadcastQueued)
    return {job.chat_id for job in broadcasts.pending_jobs(notice.broadcast_id)}


async def remind_now(services: Services, period: PeriodView) -> tuple[list[str], list[str]]:
    """/remind as the office: (units reminded, already reminded today); checks who got it."""
    notifier = RecordingNotifier()
    reminded, already = await services.reminders.remind_now(period, notifier, actor="test")
    assert notifier.units() == reminded  # one focal point each here
    return reminded, already


async def test_not_submitted_means_what_the_database_says(
    services: Services, clock: FixedClock
) -> None:
    period = six_month(services)
    done = focal_point(services, 1001, DISTRICT)
    drafting = focal_point(services, 1002, "so-y-te")
    focal_point(services, 1003, "huyen-sin-ho")  # registered, never opens the form
    fill(services, done)
    send(services, done)
    fill(services, drafting, until="ban_vstbpn_consolidated")  # two answers in, then stops
    snapshots = services.reporting.snapshots(period, submitted_answers=False)
    status = {s.unit.code: s.status for s in snapshots}
    assert [status[code] for code in (DISTRICT, "so-y-te", "huyen-sin-ho")] == [
        "submitted",
        "draft",
        "not_started",
    ]
    ids = {s.unit.code: s.unit.id for s in snapshots}
    with services.db.transaction() as session:
        active = session.exec(select(Unit.code, Unit.id).where(col(Unit.active))).all()
    assert ids == dict(active)  # every active unit is expected to report
    submissions = ReportSubmissionStatus(services.periods, services.reporting)

    # The draft and every unit not started are missing; the unit that sent is not.
    assert submissions.missing_unit_ids(SIX_MONTH) == set(ids.values()) - {ids[DISTRICT]}
    # Only units with a focal point can be reached: the others have nobody to tell.
    assert await remind_now(services, period) == (["huyen-sin-ho", "so-y-te"], [])
    assert await remind_now(services, period) == ([], ["huyen-sin-ho", "so-y-te"])  # once a day
    assert announce_to_missing(services, period) == {"1002", "1003"}

    # The draft is finished and sent the day after the deadline: late, but sent.
    clock.set(datetime(2023, 6, 6, 9, 0, tzinfo=VN))
    fill(services, drafting)  # resumes where it stopped
    assert send(services, drafting).late is True
    assert submissions.missing_unit_ids(SIX_MONTH) == set(ids.values()) - {
        ids[DISTRICT],
        ids["so-y-te"],
    }
    assert await remind_now(services, period) == (["huyen-sin-ho"], [])
    assert announce_to_missing(services, period) == {"1003"}
