"""Report forms as immutable data: a ``Form`` is an ordered tuple of ``Question``s.

Forms are written in YAML (``content/forms/``) and read by :mod:`domain.forms.loader`; this
module only describes what a loaded, valid form looks like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from domain.forms.expressions import Expression
from domain.forms.text import LocalText

# The kinds of reporting units. Mirrors storage.models.UnitKind (the domain's forms must not
# import storage; tests/forms checks that both lists agree).
UNIT_KINDS = ("department", "organisation", "district", "commune")

SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 3000
LABEL_MAX = 60

AnswerValue = int | float | bool | str | list[str] | None


class QuestionType(StrEnum):
    INTEGER = "integer"  # a whole number >= 0 (counts, amounts in VND)
    DECIMAL = "decimal"
    PERCENTAGE = "percentage"  # 0-100 unless bounds say otherwise
    YES_NO = "yes_no"
    CHOICE = "choice"  # one option
    MULTI_CHOICE = "multi_choice"  # several options: a list of choice keys
    SHORT_TEXT = "short_text"  # one line, <= 200 characters
    LONG_TEXT = "long_text"  # <= 3000 characters
    DATE = "date"  # stored as "yyyy-mm-dd"

    @property
    def is_numeric(self) -> bool:
        return self in {QuestionType.INTEGER, QuestionType.DECIMAL, QuestionType.PERCENTAGE}

    @property
    def is_text(self) -> bool:
        return self in {QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT}

    @property
    def has_choices(self) -> bool:
        return self in {QuestionType.CHOICE, QuestionType.MULTI_CHOICE}


class Severity(StrEnum):
    ERROR = "error"  # the answer is refused and asked again
    WARN = "warn"  # the user is asked to confirm the answer


@dataclass(frozen=True)
class Choice:
    key: str
    vi: str
    en: str

    def label(self, language: str) -> str:
        return self.en if language == "en" and self.en else self.vi


@dataclass(frozen=True)
class Check:
    """A rule on an answer: ``expression`` must be true, else ``message`` is shown."""

    expression: Expression
    severity: Severity
    message: LocalText
    origin: str = ""  # "file:line" of the check in the definition


@dataclass(frozen=True)
class Section:
    key: str
    title: LocalText


@dataclass(frozen=True)
class Question:
    key: str
    type: QuestionType
    text_vi: str
    text_en: str
    label_vi: str
    label_en: str
    help_vi: str | None = None
    help_en: str | None = None
    required: bool = True
    section: str | None = None
    unit: str | None = None
    unit_en: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    soft_min: float | None = None
    soft_max: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    choices: tuple[Choice, ...] = ()
    ask_if: Expression | None = None
    checks: tuple[Check, ...] = ()
    applies_to: frozenset[str] = frozenset()  # empty: every kind of unit
    allow_none: bool = False
    none_words: tuple[str, ...] = ()
    none_label_vi: str | None = None
    none_label_en: str | None = None
    origin: str = ""  # "file:line", for messages about the definition

    def text(self, language: str) -> str:
        return self.text_en if language == "en" else self.text_vi

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_vi

    def help(self, language: str) -> str | None:
        return self.help_en if language == "en" else self.help_vi

    def unit_label(self, language: str) -> str | None:
        if language == "en" and self.unit_en:
            return self.unit_en
        return self.unit

    def applies(self, unit_kind: str) -> bool:
        return not self.applies_to or str(unit_kind) in self.applies_to

    @property
    def multi(self) -> bool:
        return self.type is QuestionType.MULTI_CHOICE

    @property
    def hard_min(self) -> float | None:
        """The smallest accepted number: integers and percentages are never negative."""
        if self.min_value is not None:
            return self.min_value
        if self.type in {QuestionType.INTEGER, QuestionType.PERCENTAGE}:
            return 0
        return None

    @property
    def hard_max(self) -> float | None:
        if self.max_value is not None:
            return self.max_value
        return 100 if self.type is QuestionType.PERCENTAGE else None

    @property
    def max_chars(self) -> int | None:
        if self.max_length is not None:
            return self.max_length
        if self.type is QuestionType.SHORT_TEXT:
            return SHORT_TEXT_MAX
        if self.type is QuestionType.LONG_TEXT:
            return LONG_TEXT_MAX
        return None

    def choice(self, key: str) -> Choice | None:
        return next((choice for choice in self.choices if choice.key == key), None)

    def none_label(self, language: str) -> str | None:
        """What a "none" answer is called ("Không tổ chức"); None if the question has none."""
        if not self.allow_none:
            return None
        if language == "en":
            return self.none_label_en
        return self.none_label_vi


@dataclass(frozen=True)
class Form:
    key: str
    version: int
    title_vi: str
    title_en: str
    questions: tuple[Question, ...]
    sections: tuple[Section, ...] = ()
    origin: str = ""
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {question.key: position for position, question in enumerate(self.questions)}
        object.__setattr__(self, "_index", index)

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_vi

    def question(self, key: str) -> Question:
        """The question with this key; KeyError if the form has none."""
        return self.questions[self._index[key]]

    def has_question(self, key: str) -> bool:
        return key in self._index

    def position(self, key: str) -> int:
        return self._index[key]

    def section(self, key: str | None) -> Section | None:
        return next((section for section in self.sections if section.key == key), None)


class FormDefinitionError(Exception):
    """Form definitions that cannot be used; ``problems`` are "file:line: message" lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
