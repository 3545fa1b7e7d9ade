"""What the standing office sees of the reports: each unit's answers for a period (submitted or
draft), and reopening a report after its deadline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, exists, select

from domain.accounts import unit_ref
from domain.audit import record_action
from domain.errors import DomainError
from domain.forms import engine
from domain.i18n import N_
from domain.identity import UnitRef
from domain.lifecycle import FORMER_FOCAL_POINT
from domain.periods import PeriodView
from domain.reporting.records import ReportRecords
from storage.models import Account, Answer, Report, ReportVersion, Unit

# Who gave an answer or sent a report; a forgotten person is "a former focal point" (translated
# where shown, ``domain.lifecycle.person_name``).
_AUTHOR = case(
    (col(Account.forgotten_at).is_not(None), literal(FORMER_FOCAL_POINT)),
    else_=col(Account.display_name),
)


@dataclass(frozen=True)
class ReportSnapshot:
    """A unit's answers for a period, as the office or the unit sees them."""

    unit: UnitRef
    period: PeriodView
    status: str  # "not_started", "draft", "submitted"
    version: int
    submitted_at: datetime | None
    submitted_by: str | None
    late: bool
    answers: dict[str, Any]
    answered_by: dict[str, str]


class OfficeViews(ReportRecords):
    """Snapshots of units' reports for /status, /export and reminders; reopening a report."""

    def snapshot(self, unit_code: str, period: PeriodView) -> ReportSnapshot:
        with self._db.transaction() as session:
            unit = session.exec(select(Unit).where(Unit.code == unit_code)).first()
            if unit is None:
                raise DomainError(
                    N_("There is no unit with code {code}. /units lists the codes."), code=unit_code
                )
            return self._snapshot(session, unit, period)

    def snapshots(
        self,
        period: PeriodView,
        *,
        include_archived: bool = False,
        submitted_answers: bool = True,
    ) -> list[ReportSnapshot]:
        """Every unit the period concerns, with its latest submitted answers (or its draft).

        /status, /export and every reminder step read all units, inside the bot's event loop:
        five queries whatever the number of units, reading rows rather than ORM objects.
        Gives what ``_snapshot`` gives for each unit. Who only needs where each unit stands
        passes ``submitted_answers=False``: submitted reports then come without their answers,
        the bulk of the memory (drafts keep theirs: reminders show the progress).
        """
        form = self._forms.get(period.form_key)
        with self._db.transaction() as session:
            db = session.connection()
            units = [
                UnitRef(unit_id, code, name_vi, name_en, kind.value)
                for unit_id, code, name_vi, name_en, kind, active in db.execute(
                    sa_select(
                        col(Unit.id),
                        col(Unit.code),
                        col(Unit.name_vi),
                        col(Unit.name_en),
                        col(Unit.kind),
                        col(Unit.active),
                    ).order_by(col(Unit.kind), col(Unit.code))
                )
                if unit_id is not None and (active or include_archived) and period.applies_to(code)
            ]
            in_period = col(Report.period_id) == period.id
            reports: dict[int, int | None] = dict(
                db.execute(sa_select(col(Report.unit_id), col(Report.id)).where(in_period)).all()
            )
            latest: dict[int, tuple[int, datetime, int, bool, str]] = {}
            for report_id, number, at, by, late, answers_json in db.execute(
                sa_select(
                    col(ReportVersion.report_id),
                    col(ReportVersion.version),
                    col(ReportVersion.submitted_at),
                    col(ReportVersion.submitted_by_account_id),
                    col(ReportVersion.late),
                    col(ReportVersion.answers_json) if submitted_answers else literal("{}"),
                )
                .join(Report, col(Report.id) == col(ReportVersion.report_id))
                .where(in_period)
            ):
                if report_id not in latest or number > latest[report_id][0]:
                    latest[report_id] = (number, at, by, late, answers_json)
            drafts: dict[int, list[tuple[str, str, bool, int]]] = {}
            unsubmitted = ~exists().where(col(ReportVersion.report_id) == col(Report.id))
            for report_id, key, value_json, skipped, by in db.execute(
                sa_select(
                    col(Answer.report_id),
                    col(Answer.question_key),
                    col(Answer.value_json),
                    col(Answer.skipped),
                    col(Answer.answered_by_account_id),
                )
                .join(Report, col(Report.id) == col(Answer.report_id))
                .where(in_period, unsubmitted)
            ):
                drafts.setdefault(report_id, []).append((key, value_json, skipped, by))
            names: dict[int | None, str] = dict(
                db.execute(sa_select(col(Account.id), _AUTHOR)).all()
            )
        snapshots: list[ReportSnapshot] = []
        for unit in units:
            report = reports.get(unit.id)
            if report is None:
                snapshots.append(
                    ReportSnapshot(unit, period, "not_started", 0, None, None, False, {}, {})
                )
                continue
            version = latest.get(report)
            if version is not None:
                number, at, by, late, answers_json = version
                snapshots.append(
                    ReportSnapshot(
                        unit,
                        period,
                        "submitted",
                        number,
                        at,
                        names.get(by),
                        late,
                        json.loads(answers_json),
                        {},
                    )
                )
                continue
            rows = drafts.get(report, [])
            answers: dict[str, Any] = {
                key: json.loads(value_json)
                for key, value_json, skipped, _by in rows
                if not skipped and form is not None and form.has_question(key)
            }
            if form is not None:
                answers = engine.prune(form, unit.kind, answers)
            answered_by = {key: names.get(by, "") for key, _value, _skipped, by in rows}
            status = "draft" if answers else "not_started"
            snapshots.append(
                ReportSnapshot(unit, period, status, 0, None, None, False, answers, answered_by)
            )
        return snapshots

    def reopen(self, unit_code: str, period: PeriodView, until: datetime, *, actor: str) -> None:
        """Let a unit amend its report after the deadline, until ``until``."""
        now = self._clock.now()
        with self._db.transaction() as session:
            unit = session.exec(select(Unit).where(Unit.code == unit_code)).first()
            if unit is None:
                raise DomainError(
                    N_("There is no unit with code {code}. /units lists the codes."), code=unit_code
                )
            report = self._report(session, period.id, unit, create=True)
            report.reopened_until = until
            record_action(
                session,
                at=now,
                actor=actor,
                action="report.reopen",
                target=unit.code,
                period=period.key,
                until=until.isoformat(),
            )

    def _snapshot(self, session: Session, unit: Unit, period: PeriodView) -> ReportSnapshot:

        report = session.exec(
            select(Report).where(Report.period_id == period.id, Report.unit_id == unit.id)
        ).first()
        if report is None:
            return ReportSnapshot(
                unit_ref(unit), period, "not_started", 0, None, None, False, {}, {}
            )
        version = self._latest_version(session, report)
        # Only the people this report names: reading every account here made snapshots() of
        # 10,000 units read 10,000 x 10,000 rows.
        people = sa_select(col(Account.id), _AUTHOR)
        if version is not None:
            people = people.where(col(Account.id) == version.submitted_by_account_id)
        else:
            people = people.join(Answer, col(Answer.answered_by_account_id) == col(Account.id))
            people = people.where(col(Answer.report_id) == report.id).distinct()
        names: dict[int | None, str] = {row[0]: row[1] for row in session.execute(people)}
        if version is not None:
            return ReportSnapshot(
                unit_ref(unit),
                period,
                "submitted",
                version.version,
                version.submitted_at,
                names.get(version.submitted_by_account_id),
                version.late,
                json.loads(version.answers_json),
                {},
            )
        assert report.id is not None
        answers, _skipped = self._answers(session, report)
        by = {
            row.question_key: names.get(row.answered_by_account_id, "")
            for row in session.exec(select(Answer).where(Answer.report_id == report.id)).all()
        }
        status = "draft" if answers else "not_started"
        return ReportSnapshot(unit_ref(unit), period, status, 0, None, None, False, answers, by)
