"""Showing the step a chat is on: the question with its options, a warning to confirm, the
review before sending, the list of answers to change, a report already sent.

Buttons carry the step they belong to, so a press on an older step can be told apart.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from domain.conversation import Action, Reply, rows
from domain.forms import engine
from domain.forms.definition import Form, Question
from domain.forms.parsing import format_value
from domain.i18n import Translator
from domain.identity import UnitRef, UserContext
from domain.periods import PeriodView
from domain.reporting.records import CONFIRM, EDIT_PICK, QUESTION, REVIEW, ReportRecords
from storage.models import FormSession, Report


class FormSteps(ReportRecords):
    """Renders each step of the form as replies; moves to the next open question when asked."""

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
