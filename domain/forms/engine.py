"""The form engine: which question comes next, what to show, whether an answer stands.

Pure functions over a ``Form``, the unit's kind and the answers so far (a mapping of question
key → value; a skipped question has no entry). Nothing here knows the chat channel or the
database: an adapter renders a ``Prompt`` (buttons on Telegram, a numbered list on Zalo) and
stores the answers.

Rules: an ``ask_if`` whose names are not all answered is false; a check runs only when every
name it uses is answered, and is skipped when it cannot be evaluated (e.g. a "none" answer).
``answers`` passed in should be pruned (``set_answer`` and ``prune`` do it), so the stale
answer of a follow-up that is no longer asked never takes part in a rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from domain.forms.definition import AnswerValue, Form, Question, QuestionType, Severity
from domain.forms.expressions import EvaluationError, Expression
from domain.forms.parsing import (
    EMPTY,
    NO_LABEL,
    YES_LABEL,
    check_number_bounds,
    format_value,
)
from domain.forms.text import FormText, JoinedText, LocalText, fold_words, form_text
from domain.i18n import N_, LazyText

Message = LazyText | LocalText | JoinedText
"""Anything with ``render(translator) -> str``."""


@dataclass(frozen=True)
class Option:
    """One answer the user may press or type: ``token`` is what the adapter sends back."""

    token: str
    label_vi: str
    label_en: str

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_vi


@dataclass(frozen=True)
class Prompt:
    """One step shown to the user, in the user's language, for any channel."""

    question_key: str
    text: str
    help: str | None
    options: tuple[Option, ...]
    multi: bool
    can_skip: bool
    can_go_back: bool
    position: int  # 1-based among the questions asked given the answers so far
    total: int
    section: str | None = None  # the section's title
    opens_section: bool = False  # the first question of its section: show the title
    unit: str | None = None  # "lượt người", "đồng"
    current: str | None = None  # the current answer, formatted, when revisiting
    selected: tuple[str, ...] = ()  # tokens of the options in the current answer


class VerdictKind(StrEnum):
    ACCEPTED = "accepted"
    NEEDS_CONFIRMATION = "needs_confirmation"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Verdict:
    kind: VerdictKind
    messages: tuple[Message, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.kind is VerdictKind.ACCEPTED

    @property
    def needs_confirmation(self) -> bool:
        return self.kind is VerdictKind.NEEDS_CONFIRMATION

    @property
    def rejected(self) -> bool:
        return self.kind is VerdictKind.REJECTED

    @property
    def message(self) -> Message | None:
        """All messages as one (one per line); None when accepted without remark."""
        if not self.messages:
            return None
        if len(self.messages) == 1:
            return self.messages[0]
        parts = tuple(
            part
            for message in self.messages
            for part in (message.parts if isinstance(message, JoinedText) else (message,))
        )
        return JoinedText(parts)


@dataclass(frozen=True)
class Issue:
    """A problem with an answer already given, found when reviewing the whole report."""

    question_key: str
    severity: Severity
    message: Message


YES_TOKEN, NO_TOKEN, NONE_TOKEN = "yes", "no", "none"


def is_multi(question: Question) -> bool:
    return question.multi


# --------------------------------------------------------------------------- which questions
def applicable_questions(form: Form, unit_kind: str) -> list[Question]:
    """The questions this kind of unit answers, in form order."""
    return [question for question in form.questions if question.applies(unit_kind)]


def _condition_holds(expression: Expression, answers: Mapping[str, AnswerValue]) -> bool:
    if any(name not in answers for name in expression.names):
        return False
    try:
        return bool(expression.evaluate(answers))
    except EvaluationError:
        return False


def _walk(
    form: Form, unit_kind: str, answers: Mapping[str, AnswerValue]
) -> tuple[list[Question], dict[str, AnswerValue]]:
    """Visible questions and their answers; a hidden question's answer never counts."""
    visible: list[Question] = []
    kept: dict[str, AnswerValue] = {}
    for question in applicable_questions(form, unit_kind):
        if question.ask_if is not None and not _condition_holds(question.ask_if, kept):
            continue
        visible.append(question)
        if question.key in answers:
            kept[question.key] = answers[question.key]
    return visible, kept


def visible_questions(
    form: Form, unit_kind: str, answers: Mapping[str, AnswerValue]
) -> list[Question]:
    """The questions asked given the answers so far (``ask_if`` applied), in order."""
    return _walk(form, unit_kind, answers)[0]


def prune(form: Form, unit_kind: str, answers: Mapping[str, AnswerValue]) -> dict[str, AnswerValue]:
    """Drop answers of questions no longer asked (a follow-up after its parent changed)."""
    return _walk(form, unit_kind, answers)[1]


def set_answer(
    form: Form, unit_kind: str, answers: Mapping[str, AnswerValue], key: str, value: AnswerValue
) -> dict[str, AnswerValue]:
    """The answers with ``key`` set to ``value``, pruned."""
    return prune(form, unit_kind, {**answers, key: value})


def next_question(
    form: Form,
    unit_kind: str,
    answers: Mapping[str, AnswerValue],
    skipped: Collection[str] = frozenset(),
) -> Question | None:
    """The first visible question neither answered nor skipped; None: ready for review.

    Only optional questions can be skipped: a required one in ``skipped`` is asked anyway.
    """
    for question in visible_questions(form, unit_kind, answers):
        if question.key in answers:
            continue
        if question.key in skipped and not question.required:
            continue
        return question
    return None


def previous_question(
    form: Form, unit_kind: str, answers: Mapping[str, AnswerValue], current_key: str | None
) -> Question | None:
    """The visible question before ``current_key`` (None: the last one, from the review)."""
    visible = visible_questions(form, unit_kind, answers)
    if current_key is None or not form.has_question(current_key):
        return visible[-1] if visible else None
    position = form.position(current_key)
    earlier = [question for question in visible if form.position(question.key) < position]
    return earlier[-1] if earlier else None


def missing_required(
    form: Form, unit_kind: str, answers: Mapping[str, AnswerValue]
) -> list[Question]:
    """Visible required questions without an answer."""
    return [
        question
        for question in visible_questions(form, unit_kind, answers)
        if question.required and question.key not in answers
    ]


# --------------------------------------------------------------------------- showing
def options_for(question: Question) -> tuple[Option, ...]:
    """The answers to offer as buttons (or a numbered list): choices, yes/no, "none"."""
    options: list[Option] = []
    if question.type is QuestionType.YES_NO:
        options = [
            Option(YES_TOKEN, YES_LABEL.vi, YES_LABEL.en),
            Option(NO_TOKEN, NO_LABEL.vi, NO_LABEL.en),
        ]
    elif question.type.has_choices:
        options = [
            Option(str(number), choice.vi, choice.en)
            for number, choice in enumerate(question.choices, 1)
        ]
    if question.allow_none and not question.multi:
        options.append(
            Option(NONE_TOKEN, question.none_label_vi or "", question.none_label_en or "")
        )
    return tuple(options)


def _selected_tokens(question: Question, value: object) -> tuple[str, ...]:
    if value is None:
        return (NONE_TOKEN,) if question.allow_none else ()
    if question.type is QuestionType.YES_NO and isinstance(value, bool):
        return (YES_TOKEN if value else NO_TOKEN,)
    if question.type.has_choices:
        keys = value if isinstance(value, list) else [value]
        return tuple(
            str(number) for number, choice in enumerate(question.choices, 1) if choice.key in keys
        )
    return ()


def prompt_for(
    form: Form,
    question: Question,
    unit_kind: str,
    answers: Mapping[str, AnswerValue],
    language: str,
) -> Prompt:
    """What to show for ``question``: its text, options and where we are in the form."""
    visible = visible_questions(form, unit_kind, answers)
    order = form.position(question.key)
    before = [item for item in visible if form.position(item.key) < order]
    is_visible = any(item.key == question.key for item in visible)
    section = form.section(question.section)
    answered = question.key in answers
    return Prompt(
        question_key=question.key,
        text=question.text(language),
        help=question.help(language),
        options=options_for(question),
        multi=question.multi,
        can_skip=not question.required,
        can_go_back=bool(before),
        position=len(before) + 1,
        total=len(visible) if is_visible else len(visible) + 1,
        section=section.title.get(language) if section else None,
        opens_section=section is not None and (not before or before[-1].section != section.key),
        unit=question.unit_label(language),
        current=format_value(question, answers[question.key], language) if answered else None,
        selected=_selected_tokens(question, answers.get(question.key)) if answered else (),
    )


def review_lines(
    form: Form, unit_kind: str, answers: Mapping[str, AnswerValue], language: str
) -> list[tuple[str, str]]:
    """(short label, formatted answer) for every visible question, "—" when unanswered."""
    visible, kept = _walk(form, unit_kind, answers)
    return [
        (
            question.label(language),
            format_value(question, kept[question.key], language) if question.key in kept else EMPTY,
        )
        for question in visible
    ]


# --------------------------------------------------------------------------- judging answers
def _shape_problem(question: Question, value: object) -> FormText | None:
    """Whether a typed value fits its question (parse_answer's output always does)."""
    wrong = form_text(N_("This answer does not fit the question; please answer again."))
    qtype = question.type
    if qtype.is_numeric:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return wrong
        if qtype is QuestionType.INTEGER and not float(value).is_integer():
            return wrong
        return check_number_bounds(question, value)
    if qtype is QuestionType.YES_NO:
        return None if isinstance(value, bool) else wrong
    if qtype is QuestionType.CHOICE:
        return None if isinstance(value, str) and question.choice(value) else wrong
    if qtype is QuestionType.MULTI_CHOICE:
        if not isinstance(value, list) or not value:
            return wrong
        return None if all(isinstance(k, str) and question.choice(k) for k in value) else wrong
    if qtype is QuestionType.DATE:
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            return wrong
        return None
    if not isinstance(value, str) or not value.strip():
        return wrong
    maximum = question.max_chars
    if len(value) < (question.min_length or 1) or (maximum is not None and len(value) > maximum):
        return wrong
    return None


def _soft_bound_warning(question: Question, value: object) -> FormText | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if question.soft_min is not None and value < question.soft_min:
        return form_text(
            N_("{value} is lower than usual (usually at least {minimum})."),
            value=value,
            minimum=question.soft_min,
        )
    if question.soft_max is not None and value > question.soft_max:
        return form_text(
            N_("{value} is higher than usual (usually at most {maximum})."),
            value=value,
            maximum=question.soft_max,
        )
    return None


def evaluate_answer(
    form: Form,
    question: Question,
    value: AnswerValue,
    answers: Mapping[str, AnswerValue],
    *,
    confirmed: bool = False,
    today: dt.date | None = None,
) -> Verdict:
    """Judge a parsed answer against bounds and rules, given the other answers.

    Hard bounds and ``error`` checks reject; soft bounds and ``warn`` checks ask the user to
    confirm unless ``confirmed``. ``today`` lets rules use ``today`` (else they are skipped).
    """
    warnings: list[Message] = []
    if value is None:
        if not question.allow_none:
            return Verdict(VerdictKind.REJECTED, (form_text(N_("Please type an answer.")),))
    else:
        problem = _shape_problem(question, value)
        if problem is not None:
            return Verdict(VerdictKind.REJECTED, (problem,))
        soft = _soft_bound_warning(question, value)
        if soft is not None:
            warnings.append(soft)
    env: dict[str, object] = {
        key: answer
        for key, answer in answers.items()
        if key != question.key and form.has_question(key)
    }
    env["value"] = value
    if today is not None:
        env["today"] = today.isoformat()
    errors: list[Message] = []
    for check in question.checks:
        if any(name not in env for name in check.expression.names):
            continue
        try:
            holds = bool(check.expression.evaluate(env))
        except EvaluationError:
            continue
        if not holds:
            (errors if check.severity is Severity.ERROR else warnings).append(check.message)
    if errors:
        return Verdict(VerdictKind.REJECTED, tuple(errors))
    if warnings and not confirmed:
        return Verdict(VerdictKind.NEEDS_CONFIRMATION, tuple(warnings))
    return Verdict(VerdictKind.ACCEPTED)


def review_issues(
    form: Form,
    unit_kind: str,
    answers: Mapping[str, AnswerValue],
    *,
    today: dt.date | None = None,
) -> list[Issue]:
    """Re-judge every given answer against the others (an earlier one may have changed)."""
    visible, kept = _walk(form, unit_kind, answers)
    issues: list[Issue] = []
    for question in visible:
        if question.key not in kept:
            continue
        verdict = evaluate_answer(form, question, kept[question.key], kept, today=today)
        if verdict.message is None:
            continue
        severity = Severity.ERROR if verdict.rejected else Severity.WARN
        issues.append(Issue(question.key, severity, verdict.message))
    return issues


# --------------------------------------------------------------------------- typed commands
_SKIP_WORDS = {"bo qua", "skip", "/skip", "qua", "bo"}
_BACK_WORDS = {"quay lai", "tro lai", "back", "/back", "lui", "lui lai"}


def navigation_command(text: str) -> Literal["skip", "back"] | None:
    """A typed "bỏ qua"/"quay lại" on a channel without buttons (Zalo)."""
    word = fold_words(text)
    if word in _SKIP_WORDS:
        return "skip"
    if word in _BACK_WORDS:
        return "back"
    return None
