"""Filling in a report in chat: one question per message, every answer stored at once.

The state of each chat lives in ``form_session`` and the answers in ``answer`` (shared by
all focal points of the unit), so the bot can be restarted at any moment and the person
continues where they were, on any device. Buttons carry the step they belong to; a press
on an older step is answered politely and changes nothing.
"""

from __future__ import annotations

from sqlmodel import col, select

from domain.conversation import Action, Outcome, Reply, rows
from domain.forms.definition import Form
from domain.i18n import Translator
from domain.identity import UnitRef, UserContext
from domain.periods import PeriodView
from domain.reporting.answering import FormInput
from domain.reporting.office import OfficeViews
from domain.reporting.records import QUESTION
from storage.models import Report, ReportStatus, Unit


class ReportingService(FormInput, OfficeViews):
    """Reports filled in chat (the entry points below) and read by the office (``OfficeViews``)."""

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
                Action(self._candidate_label(period, unit, user), f"p:{period.id}:{unit.id}")
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

    def _candidate_label(self, period: PeriodView, unit: UnitRef, user: UserContext) -> str:
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
