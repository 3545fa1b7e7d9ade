"""Hostile answers: any text is read or refused with a message, with work linear in its length.

Time is never measured here (the machine is shared); what bounds it is asserted instead: an
answer over its kind's limit is refused before any reading, and the multi-choice matcher
looks at each piece of an answer a bounded number of times (``bench/parsing.py`` times it).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.forms import parsing
from domain.forms.definition import Choice, Question, QuestionType
from domain.forms.parsing import ParseResult, input_limit, parse_answer
from domain.i18n import translator_for
from tests.forms.test_parsing import ACTIVITIES, MULTI, QUESTIONS, TODAY

VI, EN = translator_for("vi"), translator_for("en")
KINDS = sorted({question.type for question in QUESTIONS}, key=str)
ONE_OF_EACH_KIND = [next(q for q in QUESTIONS if q.type is kind) for kind in KINDS]

# What a person (or a script) might paste: labels, numbers and junk, joined by separators.
PIECES = st.sampled_from(
    [
        *(choice.vi for choice in ACTIVITIES),
        *(choice.en for choice in ACTIVITIES),
        "1",
        "3",
        "99",
        "số 2",
        "tập huấn",
        "hội",
        "",
        " ",
        "=1+1",
        "<b>",
        "1.200",
        "15 triệu",
        "5/6/2023",
        "không",
    ]
)
SEPARATORS = st.sampled_from([", ", ",", ";", "\n", " ", ",,", "; "])
PASTED = st.builds(
    lambda pieces, separator: separator.join(pieces),
    st.lists(PIECES, max_size=400),
    SEPARATORS,
)
ANY_TEXT = st.one_of(
    st.text(max_size=5000), PASTED, st.text(alphabet="0123456789.,; /", max_size=5000)
)


def _assert_explained(result: ParseResult) -> None:
    """Either a value, or a message that renders in both languages."""
    assert isinstance(result, ParseResult)
    if result.ok:
        assert result.error is None
    else:
        assert result.error is not None
        assert result.error.render(VI).strip()
        assert result.error.render(EN).strip()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=st.sampled_from(QUESTIONS), text=ANY_TEXT, language=st.sampled_from(["vi", "en"]))
def test_any_text_is_read_or_refused_with_a_message(
    question: Question, text: str, language: str
) -> None:
    _assert_explained(parse_answer(question, text, language, today=TODAY))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    question=st.sampled_from(QUESTIONS),
    filler=st.text(min_size=1, max_size=3).filter(str.strip),
    extra=st.integers(min_value=1, max_value=5000),
)
def test_an_answer_over_its_kinds_limit_is_refused_before_reading(
    question: Question, filler: str, extra: int
) -> None:
    limit = input_limit(question)
    text = "x" + (filler * (limit + extra))[: limit + extra - 2] + "x"
    assert len(text.strip()) > limit
    result = parse_answer(question, text, "vi", today=TODAY)
    assert not result.ok
    assert result.error is not None
    english = result.error.render(EN)
    assert "too long" in english
    maximum = question.max_chars if question.type.is_text else limit
    assert f"at most {maximum:,}" in english or f"keep it to {maximum:,}" in english
    assert "quá dài" in result.error.render(VI) or "dài quá" in result.error.render(VI)


@pytest.mark.parametrize("question", ONE_OF_EACH_KIND, ids=lambda q: str(q.type))
def test_a_4000_character_answer_of_each_kind_gets_the_limit_message(question: Question) -> None:
    for text in ("Khác, " * 700, "1" * 4000, "=HYPERLINK(" * 400, "a" * 4000):
        result = parse_answer(question, text[:4000], "vi", today=TODAY)
        assert not result.ok
        assert result.error is not None
        message = result.error.render(VI)
        assert "4.000" in message  # the length, the Vietnamese way


def test_limits_per_kind_are_short_for_short_answers() -> None:
    limits = {question.type: input_limit(question) for question in ONE_OF_EACH_KIND}
    for kind in (QuestionType.INTEGER, QuestionType.DATE, QuestionType.YES_NO):
        assert limits[kind] <= 100
    assert limits[QuestionType.CHOICE] <= 300
    assert limits[QuestionType.MULTI_CHOICE] <= 1000
    # Free text keeps its question's own bound (after spaces are tidied), with its message.
    long_text = next(q for q in QUESTIONS if q.type is QuestionType.LONG_TEXT and q.max_chars)
    assert long_text.max_chars is not None
    refused = parse_answer(long_text, "x" * (long_text.max_chars + 1), "en")
    assert refused.error is not None
    assert "please keep it to" in refused.error.render(EN)


# --------------------------------------------------------------------------- bounded work
@pytest.fixture
def exact_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the multi-choice matcher tries as one option, in order."""
    calls: list[str] = []
    original = parsing._exact_choice

    def counting(question: Question, text: str, *args: Any) -> Choice | None:
        calls.append(text)
        return original(question, text, *args)

    monkeypatch.setattr(parsing, "_exact_choice", counting)
    return calls


def _pieces(text: str) -> int:
    return len([piece for piece in parsing._SEPARATORS.split(text) if piece.strip()])


@pytest.mark.parametrize(
    "text",
    [
        "Khác, " * 160,  # every piece an option: the cubic matcher took minutes at 4,000
        "Tập huấn, bồi dưỡng; " * 45,
        "x, " * 300,  # nothing matches
        "Lễ phát động, mít tinh, diễu hành, " * 25,
    ],
    ids=["options", "labels-with-commas", "junk", "three-piece-labels"],
)
def test_the_multi_choice_matcher_tries_each_piece_a_bounded_number_of_times(
    exact_calls: list[str], text: str
) -> None:
    assert len(text) <= parsing.MULTI_CHOICE_LIMIT
    result = parse_answer(MULTI, text, "vi")
    _assert_explained(result)
    longest = parsing._longest_label_run(MULTI.choices)
    assert longest == 3
    assert len(exact_calls) <= longest * _pieces(text) + 2
    assert all(_pieces(tried) <= longest for tried in exact_calls)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=PASTED)
def test_work_grows_with_the_number_of_pieces_only(exact_calls: list[str], text: str) -> None:
    exact_calls.clear()
    _assert_explained(parse_answer(MULTI, text[: parsing.MULTI_CHOICE_LIMIT], "vi"))
    assert len(exact_calls) <= 3 * _pieces(text[: parsing.MULTI_CHOICE_LIMIT]) + 2
