"""Answers read the Vietnamese way; failures explain themselves in both languages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.forms import load_forms
from domain.forms.definition import Choice, Question, QuestionType
from domain.forms.parsing import ParseResult, format_value, parse_answer
from domain.forms.text import fold
from domain.i18n import translator_for

TODAY = dt.date(2023, 5, 22)
VI, EN = translator_for("vi"), translator_for("en")


def _question(qtype: QuestionType, **fields: Any) -> Question:
    return Question(
        key="q",
        type=qtype,
        text_vi="Câu hỏi?",
        text_en="Question?",
        label_vi="Câu hỏi",
        label_en="Question",
        **fields,
    )


INTEGER = _question(QuestionType.INTEGER, unit="lượt người", unit_en="person-times")
MONEY = _question(QuestionType.INTEGER, unit="đồng", unit_en="VND")
DECIMAL = _question(QuestionType.DECIMAL)
PERCENT = _question(QuestionType.PERCENTAGE)
YES_NO = _question(QuestionType.YES_NO)
ACTIVITIES = (
    Choice("le_phat_dong", "Lễ phát động, mít tinh, diễu hành", "Launch ceremony, rally, march"),
    Choice("hoi_nghi", "Hội nghị, hội thảo, tọa đàm", "Conference, workshop, talk"),
    Choice("tap_huan", "Tập huấn, bồi dưỡng", "Training"),
    Choice("hoi_thi", "Hội thi, văn nghệ", "Contest, performance"),
    Choice("khac", "Khác", "Other"),
)
CHOICE = _question(QuestionType.CHOICE, choices=ACTIVITIES)
MULTI = _question(QuestionType.MULTI_CHOICE, choices=ACTIVITIES)
DATE = _question(
    QuestionType.DATE,
    allow_none=True,
    none_words=("không tổ chức", "chưa tổ chức", "không"),
    none_label_vi="Không tổ chức",
    none_label_en="Not held",
)
SHORT = _question(QuestionType.SHORT_TEXT, min_length=5)
LONG = _question(QuestionType.LONG_TEXT, max_length=50)


def _ok(question: Question, text: str) -> object:
    result = parse_answer(question, text, "vi", today=TODAY)
    assert result.ok, result.error and result.error.render(EN)
    return result.value


def _error(question: Question, text: str, language: str = "en") -> str:
    result = parse_answer(question, text, "vi", today=TODAY)
    assert not result.ok, f"{text!r} was read as {result.value!r}"
    assert result.error is not None
    return result.error.render(translator_for(language))


# --------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        (" 12 ", 12),
        ("1.200", 1200),
        ("1.200.000", 1200000),
        ("1 200 000", 1200000),
        ("1,200", 1200),  # English thousands: never 1.2 in a count
        ("1,200,000", 1200000),
        ("0", 0),
        ("không", 0),
        ("khong", 0),
        ("Không.", 0),
        ("chưa có", 0),
        ("chua co", 0),
        ("không có ạ", 0),
        ("12 buổi", 12),
        ("1.200 lượt người", 1200),
        ("350 người", 350),
        ("１２", 12),  # full-width digits from a phone keyboard
        ("+5", 5),
    ],
)
def test_integers(text: str, expected: int) -> None:
    value = _ok(INTEGER, text)
    assert value == expected
    assert isinstance(value, int)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15 triệu", 15_000_000),
        ("15 trieu", 15_000_000),
        ("15tr", 15_000_000),
        ("2,5 triệu", 2_500_000),
        ("2.5 triệu", 2_500_000),
        ("500 nghìn", 500_000),
        ("500 ngàn", 500_000),
        ("500k", 500_000),
        ("500K", 500_000),
        ("1 tỷ 200 triệu", 1_200_000_000),
        ("1,2 tỷ", 1_200_000_000),
        ("15 triệu đồng", 15_000_000),
        ("15.000.000 đ", 15_000_000),
        ("15.000.000đ", 15_000_000),
        ("15.000.000 VND", 15_000_000),
        ("1.500 triệu", 1_500_000_000),
    ],
)
def test_amounts_in_vietnamese_words(text: str, expected: int) -> None:
    assert _ok(MONEY, text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("12,5", "whole number"),
        ("1.5", "whole number"),
        ("1,2", "whole number"),
        ("-3", "cannot be negative"),
        ("−3", "cannot be negative"),
        ("abc", "Please type a number"),
        ("12 hoặc 13", "Please type a number"),
        ("1 3 5", "Please type a number"),
        ("1.20.000", "Please type a number"),
        ("1 triệu 2", "Please type a number"),
        ("12%", "Please type a number"),
        ("15 kg", "Please type a number"),
        ("9" * 40, "too large"),
        ("", "Please type an answer"),
        ("   ", "Please type an answer"),
    ],
)
def test_integer_errors(text: str, fragment: str) -> None:
    assert fragment in _error(INTEGER, text)


def test_bounds_are_named_in_the_reader_language() -> None:
    bounded = _question(QuestionType.INTEGER, min_value=1, max_value=15000)
    assert _error(bounded, "0") == "The number must be at least 1."
    assert _error(bounded, "20.000") == "The number must be at most 15,000."
    # The bound is formatted for the reader: 15.000 in Vietnamese.
    assert "15.000" in _error(bounded, "20.000", "vi")


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        (DECIMAL, "12,5", 12.5),
        (DECIMAL, "12.5", 12.5),
        (DECIMAL, "1,200", 1.2),  # in a decimal the comma is the decimal mark
        (DECIMAL, "1.200", 1200.0),
        (DECIMAL, "1.200,5", 1200.5),
        (DECIMAL, "1,200.5", 1200.5),
        (DECIMAL, "-2,5", -2.5),
        (DECIMAL, "0,5", 0.5),
        (PERCENT, "12%", 12.0),
        (PERCENT, "12 %", 12.0),
        (PERCENT, "45,5%", 45.5),
        (PERCENT, "45,5 phần trăm", 45.5),
        (PERCENT, "100", 100.0),
        (PERCENT, "không", 0.0),
    ],
)
def test_decimals_and_percentages(question: Question, text: str, expected: float) -> None:
    assert _ok(question, text) == pytest.approx(expected)


def test_percentages_stay_within_0_and_100() -> None:
    assert "at most 100" in _error(PERCENT, "120%")
    assert "cannot be negative" in _error(PERCENT, "-5")
    assert "Please type a number" in _error(PERCENT, "5 triệu %")


# --------------------------------------------------------------------------- yes / no
@pytest.mark.parametrize("text", ["có", "Có", "co", "CÓ", "yes", "y", "1", "đúng", "rồi", "Có ạ"])
def test_yes(text: str) -> None:
    assert _ok(YES_NO, text) is True


@pytest.mark.parametrize("text", ["không", "khong", "no", "n", "2", "chưa", "Không ạ"])
def test_no(text: str) -> None:
    assert _ok(YES_NO, text) is False


def test_yes_no_error() -> None:
    assert _error(YES_NO, "có lẽ") == "Please answer yes or no."


# --------------------------------------------------------------------------- choices
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", "tap_huan"),
        ("3.", "tap_huan"),
        ("số 3", "tap_huan"),
        ("tap_huan", "tap_huan"),
        ("Tập huấn, bồi dưỡng", "tap_huan"),
        ("tap huan, boi duong", "tap_huan"),
        ("Tap huan", "tap_huan"),  # unique prefix, accents optional
        ("TẬP HUẤN", "tap_huan"),
        ("bồi dưỡng", "tap_huan"),  # unique whole word inside a label
        ("Training", "tap_huan"),  # the English label works too
        ("khác", "khac"),
        ("Khac", "khac"),
        ("le phat dong", "le_phat_dong"),
    ],
)
def test_single_choice(text: str, expected: str) -> None:
    assert _ok(CHOICE, text) == expected


def test_ambiguous_choice_names_the_candidates() -> None:
    message = _error(CHOICE, "hội")
    assert "2. Conference, workshop, talk" in message
    assert "4. Contest, performance" in message
    assert "2. Hội nghị, hội thảo, tọa đàm" in _error(CHOICE, "hoi", "vi")


def test_choice_errors() -> None:
    assert _error(CHOICE, "9") == "There is no option 9: please choose a number from 1 to 5."
    assert "type its number (1 to 5)" in _error(CHOICE, "bóng đá")
    assert "type its number" in _error(CHOICE, "ta")  # too short to guess


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1, 3, 5", ["le_phat_dong", "tap_huan", "khac"]),
        ("1 3 5", ["le_phat_dong", "tap_huan", "khac"]),
        ("5;3", ["tap_huan", "khac"]),  # stored in the form's order
        ("3, 3", ["tap_huan"]),
        ("Tập huấn, bồi dưỡng; Khác", ["tap_huan", "khac"]),
        ("Tap huan, boi duong, Hoi thi, van nghe", ["tap_huan", "hoi_thi"]),
        ("tap huan, khac", ["tap_huan", "khac"]),
        ("1, Khác", ["le_phat_dong", "khac"]),
        ("Training\nOther", ["tap_huan", "khac"]),
    ],
)
def test_multi_choice(text: str, expected: list[str]) -> None:
    assert _ok(MULTI, text) == expected


def test_multi_choice_errors() -> None:
    assert "no option 7" in _error(MULTI, "1, 7")
    assert "type its number" in _error(MULTI, "1, bóng đá")
    assert "at least one option" in _error(MULTI, ",;")


# --------------------------------------------------------------------------- dates
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5/6/2023", "2023-06-05"),
        ("05/06/2023", "2023-06-05"),
        ("5-6-2023", "2023-06-05"),
        ("5.6.2023", "2023-06-05"),
        ("2023-06-05", "2023-06-05"),
        ("5/6", "2023-06-05"),  # this year, from today
        ("5/6/23", "2023-06-05"),
        ("ngày 5/6/2023", "2023-06-05"),
        ("ngày 5 tháng 6 năm 2023", "2023-06-05"),
        ("15 tháng 11", "2023-11-15"),
        ("29/2/2024", "2024-02-29"),
    ],
)
def test_dates(text: str, expected: str) -> None:
    assert _ok(DATE, text) == expected


@pytest.mark.parametrize(
    "text", ["không tổ chức", "Khong to chuc", "chưa tổ chức", "none", "không"]
)
def test_dates_may_be_none(text: str) -> None:
    assert _ok(DATE, text) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("31/2/2023", "There is no such date: 31/2/2023."),
        ("29/2/2023", "There is no such date"),
        ("5/13/2023", "There is no such date"),
        ("5/6/1890", "There is no such date"),
        ("hôm qua", "day/month/year"),
        ("2023/06/05", "day/month/year"),
    ],
)
def test_date_errors(text: str, fragment: str) -> None:
    assert fragment in _error(DATE, text)


def test_a_date_without_year_needs_today() -> None:
    result = parse_answer(DATE, "5/6", "vi")
    assert not result.ok
    assert result.error is not None
    assert "add the year" in result.error.render(EN)
    no_none = _question(QuestionType.DATE)
    assert not parse_answer(no_none, "không tổ chức", "vi", today=TODAY).ok


# --------------------------------------------------------------------------- text
def test_text_is_trimmed_and_bounded() -> None:
    assert _ok(SHORT, "  Nguyễn   Thị\nHoa  ") == "Nguyễn Thị Hoa"
    assert "at least 5 characters" in _error(SHORT, "Hoa")
    assert _ok(LONG, "  Dòng 1\n\n\n\nDòng 2  ") == "Dòng 1\n\nDòng 2"
    assert _error(LONG, "x" * 51) == (
        "The answer is too long (51 characters): please keep it to 50."
    )
    assert _ok(_question(QuestionType.SHORT_TEXT), "x" * 200) == "x" * 200
    assert "too long (201" in _error(_question(QuestionType.SHORT_TEXT), "x" * 201)
    assert "too long (3,001" in _error(_question(QuestionType.LONG_TEXT), "x" * 3001)


def test_text_is_stored_composed() -> None:
    decomposed = "Tie\u0302\u0301ng Vie\u0323\u0302t"
    assert _ok(SHORT, decomposed) == "Tiếng Việt"


# --------------------------------------------------------------------------- folding
def test_fold() -> None:
    assert fold("Tập huấn, BỒI DƯỠNG") == "tap huan, boi duong"
    assert fold("Đồng  ý") == "dong y"
    assert fold("Mường Tè") == "muong te"


# --------------------------------------------------------------------------- formatting
@pytest.mark.parametrize(
    ("question", "value", "vi", "en"),
    [
        (INTEGER, 1200, "1.200 lượt người", "1,200 person-times"),
        (MONEY, 15_000_000, "15.000.000 đồng", "15,000,000 VND"),
        (DECIMAL, 12.5, "12,5", "12.5"),
        (PERCENT, 45.0, "45%", "45%"),
        (YES_NO, True, "Có", "Yes"),
        (YES_NO, False, "Không", "No"),
        (CHOICE, "tap_huan", "Tập huấn, bồi dưỡng", "Training"),
        (MULTI, ["tap_huan", "khac"], "Tập huấn, bồi dưỡng; Khác", "Training; Other"),
        (DATE, "2023-06-05", "05/06/2023", "05/06/2023"),
        (DATE, None, "Không tổ chức", "Not held"),
        (INTEGER, None, "—", "—"),
        (SHORT, "Nguyễn Thị Hoa", "Nguyễn Thị Hoa", "Nguyễn Thị Hoa"),
        (CHOICE, "gone", "gone", "gone"),  # a key removed from a later version
    ],
)
def test_format_value(question: Question, value: object, vi: str, en: str) -> None:
    assert format_value(question, value, "vi") == vi
    assert format_value(question, value, "en") == en


# --------------------------------------------------------------------------- never raises
ALL_QUESTIONS = sorted(
    {
        (form.key, question.key): question
        for form in load_forms().values()
        for question in form.questions
    }.items()
)
EXTRA = [INTEGER, MONEY, DECIMAL, PERCENT, YES_NO, CHOICE, MULTI, DATE, SHORT, LONG]
QUESTIONS = [question for _, question in ALL_QUESTIONS] + EXTRA
ANSWER_LIKE = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789.,%- /kKtrđ", max_size=25),
    st.sampled_from(["1.200", "2,5 triệu", "không", "5/6", "1, 3", "có", "31/2/2023"]),
)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    question=st.sampled_from(QUESTIONS), text=ANSWER_LIKE, language=st.sampled_from(["vi", "en"])
)
def test_parse_answer_never_raises(question: Question, text: str, language: str) -> None:
    result = parse_answer(question, text, language, today=TODAY)
    assert isinstance(result, ParseResult)
    if result.ok:
        assert result.error is None
        format_value(question, result.value, language)
    else:
        assert result.error is not None
        assert result.error.render(VI)
        assert result.error.render(EN)
