"""Report forms: declarative YAML definitions, a safe rule language and a transport-free engine.

- :mod:`~domain.forms.definition`: ``Form``, ``Question`` and friends (immutable data);
- :mod:`~domain.forms.loader`: ``load_forms(directory)`` validates ``content/forms/*.yaml``;
- :mod:`~domain.forms.expressions`: ``compile_expression`` for ``ask_if`` and ``checks``;
- :mod:`~domain.forms.parsing`: ``parse_answer`` / ``format_value`` (Vietnamese formats);
- :mod:`~domain.forms.engine`: next/previous question, prompts, verdicts, review, pruning.
"""

from domain.forms.definition import (
    UNIT_KINDS,
    AnswerValue,
    Check,
    Choice,
    Form,
    FormDefinitionError,
    Question,
    QuestionType,
    Section,
    Severity,
)
from domain.forms.loader import DEFAULT_FORMS_DIR, check_forms, load_forms
from domain.forms.parsing import ParseResult, format_value, parse_answer

__all__ = [
    "DEFAULT_FORMS_DIR",
    "UNIT_KINDS",
    "AnswerValue",
    "Check",
    "Choice",
    "Form",
    "FormDefinitionError",
    "ParseResult",
    "Question",
    "QuestionType",
    "Section",
    "Severity",
    "check_forms",
    "format_value",
    "load_forms",
    "parse_answer",
]
