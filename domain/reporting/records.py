"""A report's rows as the chat flow reads and writes them: the report, its answers, the form
session of each chat.

The session of a chat lives in ``form_session`` and the answers in ``answer`` (shared by all focal
points of the unit), so the bot can be restarted at any moment and the person continues where
they were, on any device.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from domain.clock import Clock
from domain.forms import engine
from domain.forms.definition import Form
from domain.identity import UserContext
from domain.periods import LATE_WINDOW, PeriodService, PeriodView, view
from storage.db import Database
from storage.models import (
    Answer,
    FormSession,
    Report,
    ReportPeriod,
    ReportStatus,
    ReportVersion,
    Unit,
)

#: What a chat's form session is on: a question, a warning to confirm, the review before
#: sending, or the list of answers to change.
QUESTION, CONFIRM, REVIEW, EDIT_PICK = "question", "confirm", "review", "edit_pick"


class ReportRecords:
    """Reads and writes a unit's report, its answers and each chat's place in the form."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        forms: dict[str, Form],
        periods: PeriodService,
        tz: ZoneInfo,
    ) -> None:
        self._db = db
        self._clock = clock
        self._forms = forms
        self._periods = periods
        self._tz = tz

    def _reopened(self, report: Report | None) -> bool:
        return bool(report and report.reopened_until and report.reopened_until > self._clock.now())

    def _new_session(
        self, session: Session, user: UserContext, chat_id: str, report: Report
    ) -> FormSession:
        channel = user.identity.channel
        existing = session.exec(
            select(FormSession).where(
                FormSession.channel == channel, FormSession.chat_id == chat_id
            )
        ).first()
        if existing is not None:
            session.delete(existing)
            session.flush()
        assert report.id is not None
        active = FormSession(
            channel=channel,
            chat_id=chat_id,
            account_id=user.account_id,
            report_id=report.id,
            mode=QUESTION,
            updated_at=self._clock.now(),
        )
        session.add(active)
        session.flush()
        return active

    def _session_of(self, session: Session, user: UserContext, chat_id: str) -> FormSession | None:
        active = session.exec(
            select(FormSession).where(
                FormSession.channel == user.identity.channel, FormSession.chat_id == chat_id
            )
        ).first()
        if active is None:
            return None
        report = session.get(Report, active.report_id)
        # Deny by default: the session must be this person's, for one of their units.
        if (
            active.account_id != user.account_id
            or report is None
            or report.unit_id not in {u.id for u in user.units}
        ):
            session.delete(active)
            return None
        return active

    def _is_fillable(self, session: Session, report: Report) -> bool:
        period = session.get_one(ReportPeriod, report.period_id)
        now = self._clock.now()
        if period.opens_at > now:
            return False
        if report.status == ReportStatus.SUBMITTED:
            return report.amending and (period.due_at > now or self._reopened(report))
        return period.due_at > now - LATE_WINDOW or self._reopened(report)

    def _report(self, session: Session, period_id: int, unit: Unit, *, create: bool) -> Report:
        report = session.exec(
            select(Report).where(Report.period_id == period_id, Report.unit_id == unit.id)
        ).first()
        if report is None:
            if not create:
                raise LookupError("no report")
            now = self._clock.now()
            assert unit.id is not None
            period = session.get_one(ReportPeriod, period_id)
            report = Report(
                period_id=period_id,
                unit_id=unit.id,
                form_version=self._forms[period.form_key].version,
                created_at=now,
                updated_at=now,
            )
            session.add(report)
            session.flush()
        return report

    # One answer reads the report's context and answers several times (parse, check, store,
    # show the next question); within one transaction (one Session) they are read once:
    # ``session.info`` lives as long as the Session, and ``_store`` forgets the answers.
    def _context(self, session: Session, report: Report) -> tuple[Form, str, PeriodView, Unit]:
        key = ("report_context", report.id)
        cached = session.info.get(key)
        if cached is None:
            period = view(session.get_one(ReportPeriod, report.period_id))
            unit = session.get_one(Unit, report.unit_id)
            cached = session.info[key] = (
                self._forms[period.form_key],
                unit.kind.value,
                period,
                unit,
            )
        form, kind, period, unit = cached
        return form, kind, period, unit

    def _answers(self, session: Session, report: Report) -> tuple[dict[str, Any], set[str]]:
        """The report's answers, pruned of follow-ups no longer asked, and the skipped keys."""
        key = ("report_answers", report.id)
        cached = session.info.get(key)
        if cached is None:
            form, kind, _period, _unit = self._context(session, report)
            answers: dict[str, Any] = {}
            skipped: set[str] = set()
            for row in session.exec(select(Answer).where(Answer.report_id == report.id)).all():
                if row.skipped:
                    skipped.add(row.question_key)
                elif form.has_question(row.question_key):
                    answers[row.question_key] = json.loads(row.value_json)
            cached = session.info[key] = (engine.prune(form, kind, answers), skipped)
        pruned, skipped_keys = cached
        return dict(pruned), set(skipped_keys)

    def _store(
        self,
        session: Session,
        report: Report,
        user: UserContext,
        key: str,
        value: Any,
        *,
        skipped: bool = False,
    ) -> None:
        now = self._clock.now()
        assert report.id is not None
        session.info.pop(("report_answers", report.id), None)
        row = session.exec(
            select(Answer).where(Answer.report_id == report.id, Answer.question_key == key)
        ).first()
        encoded = json.dumps(None if skipped else value, ensure_ascii=False)
        if row is None:
            session.add(
                Answer(
                    report_id=report.id,
                    question_key=key,
                    value_json=encoded,
                    skipped=skipped,
                    answered_by_account_id=user.account_id,
                    answered_at=now,
                )
            )
        else:
            row.value_json, row.skipped = encoded, skipped
            row.answered_by_account_id, row.answered_at = user.account_id, now
        report.updated_at = now

    @staticmethod
    def _state(active: FormSession) -> dict[str, Any]:
        state = json.loads(active.state_json or "{}")
        assert isinstance(state, dict)
        return state

    @staticmethod
    def _set_state(active: FormSession, **changes: Any) -> None:
        state = json.loads(active.state_json or "{}")
        state.update(changes)
        active.state_json = json.dumps({k: v for k, v in state.items() if v is not None})

    @staticmethod
    def _latest_version(session: Session, report: Report) -> ReportVersion | None:
        return session.exec(
            select(ReportVersion)
            .where(ReportVersion.report_id == report.id)
            .order_by(col(ReportVersion.version).desc())
        ).first()

    def _today(self) -> date:
        return self._clock.now().astimezone(self._tz).date()
