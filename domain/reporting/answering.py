"""Handling what the person does on a step: a typed answer, a button press (or the word typed
for it, where there are no buttons), and sending the report.

Every answer is stored at once; a warning is confirmed before the answer is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from domain.conversation import Outcome, Reply
from domain.forms import engine
from domain.forms.definition import Form, Question
from domain.forms.parsing import parse_answer
from domain.forms.text import fold
from domain.i18n import Translator
from domain.identity import UserContext
from domain.periods import PeriodView, view
from domain.reporting.records import CONFIRM, EDIT_PICK, QUESTION, REVIEW
from domain.reporting.steps import FormSteps
from storage.models import FormSession, Report, ReportPeriod, ReportStatus, ReportVersion, Unit


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


class FormInput(FormSteps):
    """Applies typed answers and button presses to the chat's form session."""

    def _on_text(
        self,
        session: Session,
        active: FormSession,
        report: Report,
        user: UserContext,
        t: Translator,
        text: str,
    ) -> Outcome:
        form, _kind, _period, _unit = self._context(session, report)
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
        code = self._typed_action(active, text)
        if code is None:
            again = self._advance(session, active, report, user, t, move=False)
            return Outcome(
                [Reply(t("Please choose one of the options below."), expects_text=False), *again]
            )
        return self._on_action(session, active, report, user, t, code)

    @staticmethod
    def _typed_action(active: FormSession, text: str) -> str | None:

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
            return Outcome([Reply(_render(verdict.message, t), expects_text=False), *again])
        if verdict.needs_confirmation:
            assert verdict.message is not None
            active.mode = CONFIRM
            active.pending_json = json.dumps(value, ensure_ascii=False)
            self._set_state(active, warning=_render(verdict.message, t))
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


def _replacing(reply: Reply) -> Reply:
    """The same step redrawn in place (a multi-choice toggle)."""
    return Reply(
        reply.body, reply.title, reply.actions, reply.step, reply.expects_text, replace=True
    )


def _render(message: Any, t: Translator) -> str:
    render = getattr(message, "render", None)
    if callable(render):
        return str(render(t))
    return str(message)
