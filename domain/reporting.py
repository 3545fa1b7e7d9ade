"""Filling in a report in chat: one question per message, every answer stored at once.

The state of each chat lives in ``form_session`` and the answers in ``answer`` (shared by
all focal points of the unit), so the bot can be restarted at any moment and the person
continues where they were, on any device. Buttons carry the step they belong to; a press
on an older step is answered politely and changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, exists, select

from domain.audit import record_action
from domain.clock import Clock
from domain.conversation import Action, Outcome, Reply, rows
from domain.errors import DomainError
from domain.forms import engine
from domain.forms.definition import Form, Question
from domain.forms.parsing import format_value, parse_answer
from domain.i18n import N_, Translator
from domain.identity import UnitRef, UserContext
from domain.periods import LATE_WINDOW, PeriodService, PeriodView, view
from storage.db import Database
from storage.models import (
    Account,
    Answer,
    FormSession,
    Report,
    ReportPeriod,
    ReportStatus,
    ReportVersion,
    Unit,
)

QUESTION, CONFIRM, REVIEW, EDIT_PICK = "question", "confirm", "review", "edit_pick"


@dataclass(frozen=True)
class SubmissionNotice:
    """Told to the standing office when a unit submits (or amends) a report."""

    unit_code: str
    unit_name_vi: str
    unit_name_en: str
    period_label_vi: str
    period_label_en: str
    submitted_by: str
    version: int
    late: bool


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


class ReportingService:
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

    # ------------------------------------------------------------------ entry points
    def start(
        self, user: UserContext, t: Translator, *, chat_id: str, choice: str | None = None
    ) -> Outcome:
        """/report: resume the open form, or pick one when several are open."""
        if not user.units:
            return Outcome([Reply(t("Only registered focal points can fill in reports."))])
        with self._db.transaction() as session:
            active = self._session_of(session, user, chat_id)
            if active is not None and choice is None:
                report = session.get_one(Report, active.report_id)
                if self._is_fillable(session, report):
                    return Outcome(self._show_current(session, active, user, t, resumed=True))
                session.delete(active)
        candidates = self._candidates(user)
        if choice is not None:
            candidates = [c for c in candidates if f"{c[0].id}:{c[1].id}" == choice]
            if not candidates:
                return Outcome(alert=t("That report is no longer open."))
        if not candidates:
            submitted = self._latest_submitted(user)
            if submitted is not None:
                return self._open(user, t, chat_id, *submitted)
            return Outcome([Reply(self._nothing_open_text(t), expects_text=False)])
        if len(candidates) > 1:
            actions = [
                Action(self._candidate_label(period, unit, user, t), f"p:{period.id}:{unit.id}")
                for period, unit in candidates
            ]
            return Outcome(
                [
                    Reply(
                        t("Several reports are open. Which one do you want to fill in?"),
                        actions=rows(actions, 1),
                        step=0,
                        expects_text=False,
                    )
                ]
            )
        period, unit = candidates[0]
        return self._open(user, t, chat_id, period, unit)

    def on_text(
        self,
        user: UserContext,
        t: Translator,
        *,
        chat_id: str,
        text: str,
        message_seq: int | None = None,
    ) -> Outcome | None:
        """A typed message: an answer if this chat is in a form, else None (not ours).

        ``message_seq`` is the message's position in the chat (ids that grow), when the
        channel has one: a message at or before the last one applied is a replay and changes
        nothing.
        """
        with self._db.transaction() as session:
            active = self._session_of(session, user, chat_id)
            if active is None:
                return None
            report = session.get_one(Report, active.report_id)
            if not self._is_fillable(session, report):
                session.delete(active)
                return Outcome(
                    [Reply(t("This report is closed now. Type /report to see what is open."))]
                )
            if message_seq is not None:
                last = active.last_message_seq
                if last is not None and message_seq <= last:
                    return Outcome(self._advance(session, active, report, user, t, move=False))
                active.last_message_seq = message_seq
                session.add(active)
            return self._on_text(session, active, report, user, t, text.strip())

    def on_action(
        self, user: UserContext, t: Translator, *, chat_id: str, step: int, code: str
    ) -> Outcome:
        """A button press. Stale or foreign presses change nothing."""
        if code.startswith("p:") and step == 0:
            return self.start(user, t, chat_id=chat_id, choice=code[2:])
        with self._db.transaction() as session:
            active = self._session_of(session, user, chat_id)
            if active is None:
                if code == "amend":
                    return self._amend(session, user, t, chat_id, step)
                return Outcome(alert=t("This form is no longer open. Type /report to continue."))
            if step != active.step:
                return Outcome(
                    alert=t(
                        "That button belongs to an earlier question; please use the latest one."
                    )
                )
            report = session.get_one(Report, active.report_id)
            if not self._is_fillable(session, report):
                session.delete(active)
                return Outcome(
                    alert=t("This report is closed now. Type /report to see what is open.")
                )
            return self._on_action(session, active, report, user, t, code)

    def awaits_answer(self, user: UserContext, *, chat_id: str) -> bool:
        """Whether this chat is on a form question, so typed text is its answer.

        A channel without buttons (Zalo) asks before reading a typed number as a menu choice.
        """
        with self._db.transaction() as session:
            active = self._session_of(session, user, chat_id)
            return active is not None and active.mode == QUESTION

    def cancel(self, user: UserContext, t: Translator, *, chat_id: str) -> Outcome:
        """/cancel: leave the form; the draft stays for later."""
        with self._db.transaction() as session:
            active = self._session_of(session, user, chat_id)
            if active is None:
                return Outcome([Reply(t("There is nothing to cancel."), expects_text=False)])
            session.delete(active)
        return Outcome(
            [
                Reply(
                    t(
                        "Stopped. Your answers are kept; type /report to continue "
                        "where you left off."
                    ),
                    expects_text=False,
                )
            ]
        )

    # ------------------------------------------------------------------ office views
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
                db.execute(sa_select(col(Account.id), col(Account.display_name))).all()
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

    def form(self, key: str) -> Form:
        return self._forms[key]

    # ------------------------------------------------------------------ internals
    def _candidates(self, user: UserContext) -> list[tuple[PeriodView, UnitRef]]:
        periods = self._periods.open_now()
        found: list[tuple[PeriodView, UnitRef]] = []
        with self._db.transaction() as session:
            for period in periods:
                for unit in user.units:
                    if not period.applies_to(unit.code) or period.form_key not in self._forms:
                        continue
                    report = session.exec(
                        select(Report).where(
                            Report.period_id == period.id, Report.unit_id == unit.id
                        )
                    ).first()
                    submitted = report is not None and report.status == ReportStatus.SUBMITTED
                    late = period.due_at <= self._clock.now()
                    if submitted and late and not self._reopened(report):
                        continue  # nothing left to do; the office can reopen it
                    found.append((period, unit))
        return found

    def _latest_submitted(self, user: UserContext) -> tuple[PeriodView, UnitRef] | None:
        """The most recent report the unit sent, to show read-only after its deadline."""
        unit_ids = {unit.id: unit for unit in user.units}
        with self._db.transaction() as session:
            for period in reversed(self._periods.open_now()):
                for report in session.exec(
                    select(Report).where(
                        Report.period_id == period.id, col(Report.unit_id).in_(unit_ids)
                    )
                ).all():
                    if report.status == ReportStatus.SUBMITTED:
                        return period, unit_ids[report.unit_id]
        return None

    def _reopened(self, report: Report | None) -> bool:
        return bool(report and report.reopened_until and report.reopened_until > self._clock.now())

    def _candidate_label(
        self, period: PeriodView, unit: UnitRef, user: UserContext, t: Translator
    ) -> str:
        label = period.label(user.language)
        if len(user.units) > 1:
            label = f"{label} — {unit.name(user.language)}"
        return label[:120]

    def _nothing_open_text(self, t: Translator) -> str:
        upcoming = [p for p in self._periods.all() if p.opens_at > self._clock.now()]
        if not upcoming:
            return t("No report is open for your unit right now. I will tell you when one opens.")
        nxt = upcoming[0]
        return t(
            "No report is open for your unit right now. Next: {label}, open from {opens}, "
            "due before {due}.",
            label=nxt.label(t.language),
            opens=t.short_date(nxt.opens_at),
            due=t.short_date(nxt.due_display),
        )

    def _open(
        self, user: UserContext, t: Translator, chat_id: str, period: PeriodView, unit: UnitRef
    ) -> Outcome:
        with self._db.transaction() as session:
            unit_row = session.get_one(Unit, unit.id)
            report = self._report(session, period.id, unit_row, create=True)
            if report.status == ReportStatus.SUBMITTED and not report.amending:
                return Outcome(self._submitted_view(session, report, period, unit, user, t))
            active = self._new_session(session, user, chat_id, report)
            return Outcome(self._show_current(session, active, user, t, resumed=False))

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

    # --------------------------------------------------------------- showing steps
    def _show_current(
        self,
        session: Session,
        active: FormSession,
        user: UserContext,
        t: Translator,
        *,
        resumed: bool,
    ) -> list[Reply]:
        report = session.get_one(Report, active.report_id)
        replies: list[Reply] = []
        if resumed:
            replies.append(
                Reply(t("Welcome back: let us continue where you stopped."), expects_text=False)
            )
        elif active.mode == QUESTION and active.question_key is None:
            _form, _kind, period, unit = self._context(session, report)
            answers, skipped = self._answers(session, report)
            name = period.label(user.language)
            if not period.ad_hoc:
                name = t("Report: {period}", period=name)
            intro = t(
                "{report}\nUnit: {unit}\nDue before {due}. One question at a time; "
                "every answer is saved at once. /cancel stops (your answers are kept).",
                report=name,
                unit=unit.name_en if user.language == "en" and unit.name_en else unit.name_vi,
                due=t.short_date(period.due_display),
            )
            if answers or skipped:
                intro += "\n" + t(
                    "Some answers are already in; I start at the first open question."
                )
            replies.append(Reply(intro, expects_text=False))
        # Resuming starts at the first open question: another focal point of the unit may
        # have answered the one this chat was on.
        move = not resumed or active.mode == QUESTION
        replies.extend(self._advance(session, active, report, user, t, move=move))
        return replies

    def _advance(
        self,
        session: Session,
        active: FormSession,
        report: Report,
        user: UserContext,
        t: Translator,
        *,
        move: bool = True,
    ) -> list[Reply]:
        """Show the step the session is on, moving to the next open question first if asked."""
        form, kind, _period, _unit = self._context(session, report)
        assert report.id is not None
        answers, skipped = self._answers(session, report)
        if move or (active.mode == QUESTION and active.question_key is None):
            question = engine.next_question(form, kind, answers, skipped)
            active.mode = QUESTION if question else REVIEW
            active.question_key = question.key if question else None
            self._set_state(active, selection=None)
            active.pending_json = None
        active.step += 1
        active.updated_at = self._clock.now()
        if active.mode == REVIEW:
            return self._review(session, active, report, user, t)
        if active.mode == EDIT_PICK:
            return [self._edit_menu(form, kind, answers, active, user, t)]
        question = form.question(active.question_key or "")
        if active.mode == CONFIRM:
            pending = json.loads(active.pending_json or "null")
            return [
                self._confirm_reply(
                    question, pending, str(self._state(active).get("warning", "")), active, user, t
                )
            ]
        return [self._prompt(form, question, kind, answers, active, user, t)]

    def _prompt(
        self,
        form: Form,
        question: Question,
        kind: str,
        answers: dict[str, Any],
        active: FormSession,
        user: UserContext,
        t: Translator,
    ) -> Reply:
        prompt = engine.prompt_for(form, question, kind, answers, user.language)
        state = self._state(active)
        selection = set(state.get("selection", prompt.selected))
        options: list[Action] = []
        for option in prompt.options:
            mark = "✓ " if prompt.multi and option.token in selection else ""
            options.append(Action(f"{mark}{option.label(user.language)}"[:60], f"o:{option.token}"))
        per_row = 2 if all(len(a.label) <= 18 for a in options) else 1
        layout = list(rows(options, per_row))
        controls: list[Action] = []
        if prompt.multi:
            controls.append(Action(t("Done ✔"), "done"))
        if prompt.can_go_back:
            controls.append(Action(t("« Back"), "back"))
        if prompt.can_skip:
            controls.append(Action(t("Skip »"), "skip"))
        if controls:
            layout.append(tuple(controls))
        body = prompt.text
        if prompt.unit:
            body += f" ({prompt.unit})"
        if prompt.section and prompt.opens_section:
            body = f"[{prompt.section}]\n{body}"
        if prompt.help:
            body += "\n\n" + prompt.help
        if prompt.current is not None:
            body += "\n\n" + t("Current answer: {value}", value=prompt.current)
        hint = self._hint(question, prompt.multi, t)
        if hint:
            body += "\n" + hint
        return Reply(
            body,
            title=t("Question {position}/{total}", position=prompt.position, total=prompt.total),
            actions=tuple(layout),
            step=active.step,
        )

    @staticmethod
    def _hint(question: Question, multi: bool, t: Translator) -> str:
        if multi:
            return t("(Press the options, then Done — or type their numbers, e.g. 1, 3)")
        hints = {
            "integer": t("(Type a number, e.g. 1.200)"),
            "decimal": t("(Type a number, e.g. 12,5)"),
            "percentage": t("(Type a percentage, e.g. 45 or 45%)"),
            "date": t("(Type a date as day/month/year, e.g. 05/6/2023)"),
        }
        return hints.get(question.type, "")

    def _confirm_reply(
        self,
        question: Question,
        value: Any,
        warning: str,
        active: FormSession,
        user: UserContext,
        t: Translator,
    ) -> Reply:
        body = t(
            "{warning}\nKeep {value}?",
            warning=warning,
            value=format_value(question, value, user.language),
        )
        return Reply(
            body,
            actions=((Action(t("Yes, keep it"), "yes"), Action(t("No, re-enter"), "no")),),
            step=active.step,
        )

    def _review(
        self,
        session: Session,
        active: FormSession,
        report: Report,
        user: UserContext,
        t: Translator,
    ) -> list[Reply]:
        form, kind, period, _unit = self._context(session, report)
        assert report.id is not None
        answers, _skipped = self._answers(session, report)
        lines = [
            f"{index}. {label}: {value}"
            for index, (label, value) in enumerate(
                engine.review_lines(form, kind, answers, user.language), 1
            )
        ]
        title = t("Please check your answers — {period}", period=period.label(user.language))
        missing = engine.missing_required(form, kind, answers)
        body = "\n".join(lines)
        if missing:
            body += "\n\n" + t("Still missing: {count} required answers.", count=len(missing))
        submit_label = t("Send the amended report") if report.amending else t("Send report")
        return [
            Reply(
                body,
                title=title,
                actions=((Action(submit_label, "submit"), Action(t("Edit"), "edit")),),
                step=active.step,
                expects_text=False,
            )
        ]

    def _edit_menu(
        self,
        form: Form,
        kind: str,
        answers: dict[str, Any],
        active: FormSession,
        user: UserContext,
        t: Translator,
    ) -> Reply:
        visible = engine.visible_questions(form, kind, answers)
        lines = [
            f"{index}. {question.label(user.language)}" for index, question in enumerate(visible, 1)
        ]
        numbers = [Action(str(index), f"e:{index}") for index in range(1, len(visible) + 1)]
        layout = [*rows(numbers, 6), (Action(t("« Back to review"), "review"),)]
        return Reply(
            t("Which answer do you want to change? Press or type its number.")
            + "\n\n"
            + "\n".join(lines),
            actions=tuple(layout),
            step=active.step,
        )

    def _submitted_view(
        self,
        session: Session,
        report: Report,
        period: PeriodView,
        unit: UnitRef,
        user: UserContext,
        t: Translator,
    ) -> list[Reply]:
        form = self._forms[period.form_key]
        version = self._latest_version(session, report)
        answers = json.loads(version.answers_json) if version else {}
        lines = [
            f"{label}: {value}"
            for label, value in engine.review_lines(form, unit.kind, answers, user.language)
        ]
        when = t.datetime(report.submitted_at) if report.submitted_at else ""
        title = t(
            "{period}: sent on {when} (version {version}).",
            period=period.label(user.language),
            when=when,
            version=report.version,
        )
        can_amend = period.due_at > self._clock.now() or self._reopened(report)
        if can_amend:
            footer = t("You can amend it until the deadline.")
            actions: tuple[tuple[Action, ...], ...] = ((Action(t("Amend the report"), "amend"),),)
        else:
            footer = t(
                "The deadline has passed; to change it, please ask the "
                "standing office to reopen it."
            )
            actions = ()
        assert report.id is not None
        return [
            Reply(
                "\n".join(lines) + "\n\n" + footer,
                title=title,
                actions=actions,
                step=-report.id,  # amend buttons name the report, not a session step
                expects_text=False,
            )
        ]

    @staticmethod
    def _latest_version(session: Session, report: Report) -> ReportVersion | None:
        return session.exec(
            select(ReportVersion)
            .where(ReportVersion.report_id == report.id)
            .order_by(col(ReportVersion.version).desc())
        ).first()

    # --------------------------------------------------------------- handling input
    def _on_text(
        self,
        session: Session,
        active: FormSession,
        report: Report,
        user: UserContext,
        t: Translator,
        text: str,
    ) -> Outcome:
        form, kind, _period, _unit = self._context(session, report)
        assert report.id is not None
        answers, _skipped = self._answers(session, report)
        if active.mode == QUESTION and active.question_key:
            question = form.question(active.question_key)
            navigation = engine.navigation_command(text)
            if navigation is not None:
                return self._on_action(session, active, report, user, t, navigation)
            parsed = parse_answer(question, text, user.language, today=self._today())
            if not parsed.ok:
                assert parsed.error is not None
                again = self._advance(session, active, report, user, t, move=False)
                return Outcome([Reply(parsed.error.render(t), expects_text=False), *again])
            return self._accept(session, active, report, user, t, question, parsed.value)
        # In menus, typed words stand for buttons, so a channel without buttons works the same.
        code = self._typed_action(active, form, kind, answers, text)
        if code is None:
            again = self._advance(session, active, report, user, t, move=False)
            return Outcome(
                [Reply(t("Please choose one of the options below."), expects_text=False), *again]
            )
        return self._on_action(session, active, report, user, t, code)

    @staticmethod
    def _typed_action(
        active: FormSession, form: Form, kind: str, answers: dict[str, Any], text: str
    ) -> str | None:
        from domain.forms.text import fold

        word = fold(text)
        if active.mode == CONFIRM:
            if word in {"1", "co", "yes", "y", "dung", "giu"}:
                return "yes"
            if word in {"2", "khong", "no", "n", "nhap lai"}:
                return "no"
        if active.mode == REVIEW:
            if word in {"1", "gui", "gui bao cao", "send", "submit"}:
                return "submit"
            if word in {"2", "sua", "edit"}:
                return "edit"
        if active.mode == EDIT_PICK and word.isdigit():
            return f"e:{int(word)}"
        return None

    def _on_action(
        self,
        session: Session,
        active: FormSession,
        report: Report,
        user: UserContext,
        t: Translator,
        code: str,
    ) -> Outcome:
        form, kind, period, unit = self._context(session, report)
        assert report.id is not None
        answers, _skipped = self._answers(session, report)
        question = form.question(active.question_key) if active.question_key else None
        if code.startswith("o:") and active.mode == QUESTION and question is not None:
            token = code[2:]
            if engine.is_multi(question):
                selection = list(self._state(active).get("selection") or [])
                if token in selection:
                    selection.remove(token)
                else:
                    selection.append(token)
                self._set_state(active, selection=selection)
                active.step += 1
                prompt = self._prompt(form, question, kind, answers, active, user, t)
                return Outcome([_replacing(prompt)])
            parsed = parse_answer(question, token, user.language, today=self._today())
            if not parsed.ok:
                return Outcome(alert=t("That option is not available any more."))
            return self._accept(session, active, report, user, t, question, parsed.value)
        if code == "done" and active.mode == QUESTION and question is not None:
            selection = self._state(active).get("selection") or []
            parsed = parse_answer(question, ",".join(selection), user.language, today=self._today())
            if not parsed.ok:
                assert parsed.error is not None
                return Outcome(alert=parsed.error.render(t)[:200])
            return self._accept(session, active, report, user, t, question, parsed.value)
        if code == "skip" and active.mode == QUESTION and question is not None:
            if question.required:
                return Outcome(alert=t("This question needs an answer."))
            self._store(session, report, user, question.key, None, skipped=True)
            session.flush()
            return Outcome(self._after_answer(session, active, report, user, t))
        if code == "back":
            current = active.question_key if active.mode in {QUESTION, CONFIRM} else None
            previous = engine.previous_question(form, kind, answers, current)
            if previous is None:
                return Outcome(alert=t("This is the first question."))
            active.mode, active.question_key, active.pending_json = QUESTION, previous.key, None
            self._set_state(active, selection=None)
            return Outcome(self._advance(session, active, report, user, t, move=False))
        if code in {"yes", "no"} and active.mode == CONFIRM and question is not None:
            pending = json.loads(active.pending_json or "null")
            active.mode, active.pending_json = QUESTION, None
            self._set_state(active, warning=None)
            if code == "yes":
                verdict = engine.evaluate_answer(
                    form, question, pending, answers, confirmed=True, today=self._today()
                )
                if verdict.rejected:
                    return Outcome(self._advance(session, active, report, user, t, move=False))
                self._store(session, report, user, question.key, pending)
                session.flush()
                return Outcome(self._after_answer(session, active, report, user, t))
            return Outcome(self._advance(session, active, report, user, t, move=False))
        if code == "submit" and active.mode == REVIEW:
            return self._submit(session, active, report, form, kind, period, unit, user, t)
        if code == "edit" and active.mode == REVIEW:
            active.mode = EDIT_PICK
            return Outcome(self._advance(session, active, report, user, t, move=False))
        if code == "review":
            active.mode, active.question_key = REVIEW, None
            self._set_state(active, editing=None)
            return Outcome(self._advance(session, active, report, user, t, move=False))
        if code.startswith("e:") and active.mode == EDIT_PICK:
            visible = engine.visible_questions(form, kind, answers)
            index = int(code[2:]) if code[2:].isdigit() else 0
            if not 1 <= index <= len(visible):
                return Outcome(
                    [
                        Reply(
                            t("Please type a number from 1 to {count}.", count=len(visible)),
                            expects_text=False,
                        ),
                        *self._advance(session, active, report, user, t, move=False),
                    ]
                )
            active.mode, active.question_key = QUESTION, visible[index - 1].key
            self._set_state(active, editing=True)
            return Outcome(self._advance(session, active, report, user, t, move=False))
        return Outcome(
            alert=t("That button belongs to an earlier question; please use the latest one.")
        )

    def _today(self) -> date:
        return self._clock.now().astimezone(self._tz).date()

    def _accept(
        self,
        session: Session,
        active: FormSession,
        report: Report,
        user: UserContext,
        t: Translator,
        question: Question,
        value: Any,
    ) -> Outcome:
        form, _kind, _period, _unit = self._context(session, report)
        assert report.id is not None
        answers, _skipped = self._answers(session, report)
        verdict = engine.evaluate_answer(
            form, question, value, answers, confirmed=False, today=self._today()
        )
        if verdict.rejected:
            assert verdict.message is not None
            again = self._advance(session, active, report, user, t, move=False)
            return Outcome(
                [Reply(_render(verdict.message, t, user.language), expects_text=False), *again]
            )
        if verdict.needs_confirmation:
            assert verdict.message is not None
            active.mode = CONFIRM
            active.pending_json = json.dumps(value, ensure_ascii=False)
            self._set_state(active, warning=_render(verdict.message, t, user.language))
            return Outcome(self._advance(session, active, report, user, t, move=False))
        self._store(session, report, user, question.key, value)
        session.flush()
        return Outcome(self._after_answer(session, active, report, user, t))

    def _after_answer(
        self,
        session: Session,
        active: FormSession,
        report: Report,
        user: UserContext,
        t: Translator,
    ) -> list[Reply]:
        """Next open question; after an edit with nothing newly open, back to the review."""
        self._set_state(active, editing=None, selection=None)
        return self._advance(session, active, report, user, t, move=True)

    def _submit(
        self,
        session: Session,
        active: FormSession,
        report: Report,
        form: Form,
        kind: str,
        period: PeriodView,
        unit: Unit,
        user: UserContext,
        t: Translator,
    ) -> Outcome:
        assert report.id is not None
        answers, _skipped = self._answers(session, report)
        missing = engine.missing_required(form, kind, answers)
        if missing:
            active.mode, active.question_key = QUESTION, missing[0].key
            again = self._advance(session, active, report, user, t, move=False)
            return Outcome(
                [
                    Reply(
                        t(
                            "Some required questions are not answered yet; "
                            "let us fill them in first."
                        ),
                        expects_text=False,
                    ),
                    *again,
                ]
            )
        now = self._clock.now()
        final = engine.prune(form, kind, answers)
        report.version += 1
        report.status = ReportStatus.SUBMITTED
        report.submitted_at = now
        report.submitted_by_account_id = user.account_id
        report.amending = False
        report.updated_at = now
        late = now >= period.due_at
        session.add(
            ReportVersion(
                report_id=report.id,
                version=report.version,
                answers_json=json.dumps(final, ensure_ascii=False),
                submitted_at=now,
                submitted_by_account_id=user.account_id,
                late=late,
            )
        )
        session.delete(active)
        who = user.identity.display_name or user.identity.external_id
        notice = SubmissionNotice(
            unit_code=unit.code,
            unit_name_vi=unit.name_vi,
            unit_name_en=unit.name_en,
            period_label_vi=period.label_vi,
            period_label_en=period.label_en,
            submitted_by=who,
            version=report.version,
            late=late,
        )
        if report.version > 1:
            thanks = t(
                "Thank you! The amended report (version {version}) has been sent "
                "to the standing office.",
                version=report.version,
            )
        else:
            thanks = t("Thank you! Your report has been sent to the standing office.")
        if late:
            thanks += "\n" + t("It arrived after the deadline, so it is marked as late.")
        return Outcome([Reply(thanks, expects_text=False)], notices=[notice])

    def _amend(
        self, session: Session, user: UserContext, t: Translator, chat_id: str, step: int
    ) -> Outcome:
        report = session.get(Report, -step)
        if report is None or report.unit_id not in {u.id for u in user.units}:
            return Outcome(alert=t("This form is no longer open. Type /report to continue."))
        period = view(session.get_one(ReportPeriod, report.period_id))
        if not (period.due_at > self._clock.now() or self._reopened(report)):
            return Outcome(
                alert=t(
                    "The deadline has passed; to change it, please ask the "
                    "standing office to reopen it."
                )
            )
        report.amending = True
        active = self._new_session(session, user, chat_id, report)
        active.mode = REVIEW
        return Outcome(self._advance(session, active, report, user, t, move=False))

    def _snapshot(self, session: Session, unit: Unit, period: PeriodView) -> ReportSnapshot:
        from domain.accounts import unit_ref

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
        people = select(Account.id, Account.display_name)
        if version is not None:
            people = people.where(Account.id == version.submitted_by_account_id)
        else:
            people = people.join(Answer, col(Answer.answered_by_account_id) == col(Account.id))
            people = people.where(Answer.report_id == report.id).distinct()
        names: dict[int | None, str] = dict(session.exec(people).all())
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


def _replacing(reply: Reply) -> Reply:
    """The same step redrawn in place (a multi-choice toggle)."""
    return Reply(
        reply.body, reply.title, reply.actions, reply.step, reply.expects_text, replace=True
    )


def _render(message: Any, t: Translator, language: str) -> str:
    render = getattr(message, "render", None)
    if callable(render):
        return str(render(t))
    return str(message)
