"""Read a typed answer the way a Vietnamese reporter writes it, and format answers back.

Numbers (the rule the office agreed; see the tests for examples):

- ``.`` is the Vietnamese thousands separator when every group after it has exactly three
  digits ("1.200" → 1200, "1.200.000" → 1200000); otherwise it is a decimal point ("12.5").
- ``,`` is the Vietnamese decimal mark ("12,5" → 12.5). In *integer* questions only, a comma
  followed by groups of exactly three digits is an English thousands separator ("1,200" →
  1200, never 1.2). When both marks appear, the last one is the decimal mark ("1.200,5").
- Spaces may group thousands ("1 200 000"). ``%`` is accepted for percentages.
- Words: "không", "chưa có", "none" → 0; "tỷ" = 10⁹, "triệu"/"tr" = 10⁶, "nghìn"/"ngàn"/"k"
  = 10³, also combined ("1 tỷ 200 triệu"); "đồng"/"VND" and the question's unit are ignored.
- Integers are whole numbers ≥ 0; a negative or fractional count is refused.

Dates: "5/6/2023", "05-06-2023", "5.6.2023", "2023-06-05", "ngày 5 tháng 6 năm 2023",
"5/6" (this year, from ``today``). Answers are stored as ISO "yyyy-mm-dd".

Every reader runs in time linear in the answer's length, and an answer longer than its kind
can sensibly be (``input_limit``: a number, a date or a choice is short; free text has its
question's own limit) is refused with a message before any other work: a pasted essay costs
the chat microseconds and gets a friendly reply, never a frozen bot.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.forms.definition import LONG_TEXT_MAX, AnswerValue, Choice, Question, QuestionType
from domain.forms.text import (
    FormText,
    LocalText,
    fold,
    fold_words,
    form_text,
    format_date,
    format_number,
)
from domain.i18n import N_

YES_LABEL = LocalText("Có", "Yes")
NO_LABEL = LocalText("Không", "No")
EMPTY = "—"

_YES = {"co", "yes", "y", "1", "dung", "roi", "co a", "vang", "da co", "ok", "true", "co roi"}
_NO = {"khong", "no", "n", "2", "chua", "khong a", "chua co", "khong co", "false", "sai"}
_ZERO_WORDS = {
    "khong",
    "khong a",
    "khong co",
    "khong co a",
    "khong co gi",
    "chua",
    "chua a",
    "chua co",
    "none",
    "no",
    "zero",
    "nil",
}
_MULTIPLIERS = {
    "ty": 10**9,
    "ti": 10**9,
    "billion": 10**9,
    "trieu": 10**6,
    "tr": 10**6,
    "million": 10**6,
    "nghin": 10**3,
    "ngan": 10**3,
    "k": 10**3,
    "thousand": 10**3,
}
_CURRENCY_WORDS = ("vnd", "dong", "d")
_COUNT_WORDS = (
    "luot nguoi",
    "luot",
    "nguoi",
    "buoi",
    "cuoc",
    "vu",
    "lop",
    "van ban",
    "tin bai",
    "tin",
    "bai",
    "san pham",
    "mo hinh",
    "hoc vien",
    "cap",
    "people",
    "persons",
    "sessions",
    "cases",
)
_MULTIPLIER_ALTERNATIVES = "|".join(sorted(_MULTIPLIERS, key=len, reverse=True))
_NUMBER_PART = re.compile(
    rf"([0-9](?:[0-9.,]| (?=[0-9]))*) ?(?:({_MULTIPLIER_ALTERNATIVES})(?![a-z]))? ?"
)
_SPACED_THOUSANDS = re.compile(r"[0-9]{1,3}(?: [0-9]{3})+(?:[.,][0-9]+)?")
_MAX_DIGITS = 16
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_NUMERIC_DATE = re.compile(
    r"(?:ngay )?([0-9]{1,2}) ?[/.\-] ?([0-9]{1,2})(?: ?[/.\-] ?([0-9]{4}|[0-9]{2}))?"
)
_WORDED_DATE = re.compile(r"(?:ngay )?([0-9]{1,2}) thang ([0-9]{1,2})(?:,? (?:nam )?([0-9]{4}))?")
_FIRST_YEAR, _LAST_YEAR = 2000, 2100
_SEPARATORS = re.compile(r"[,;\n]+")

# The longest answer read for each kind of question, in characters, checked before any
# other work. Generous for what a person types ("1 tỷ 200 triệu đồng", "ngày 15 tháng 11 năm
# 2023", an option's full label; every option of a multi-choice spelled out), far below what
# a paste can hold. Free text is bounded by its question (``Question.max_chars``) after
# spaces are tidied; RAW_TEXT_LIMIT only stops a message no question could take.
SHORT_ANSWER_LIMIT = 100
CHOICE_LIMIT = 300
MULTI_CHOICE_LIMIT = 1000
RAW_TEXT_LIMIT = 3 * LONG_TEXT_MAX


@dataclass(frozen=True)
class ParseResult:
    """A typed answer (``ok``) or why it could not be read (``error``, rendered per reader)."""

    ok: bool
    value: AnswerValue = None
    error: FormText | None = None


def _success(value: AnswerValue) -> ParseResult:
    return ParseResult(True, value)


def _failure(error: FormText) -> ParseResult:
    return ParseResult(False, None, error)


def parse_answer(
    question: Question, text: str, language: str = "vi", *, today: dt.date | None = None
) -> ParseResult:
    """Turn a typed answer into its value; never raises on any text.

    ``language`` is the reader's: their labels are matched first. ``today`` completes dates
    typed without a year ("5/6").
    """
    text = text if isinstance(text, str) else ""
    limit = input_limit(question)
    if len(text) > limit and len(text.strip()) > limit:
        return _failure(_too_long(question, len(text.strip()), limit))
    raw = unicodedata.normalize("NFKC", text).strip()
    if not raw:
        return _failure(form_text(N_("Please type an answer.")))
    if question.allow_none and _is_none_word(question, raw):
        return _success(None)
    qtype = question.type
    if qtype.is_numeric:
        return _parse_number(question, raw)
    if qtype is QuestionType.YES_NO:
        return _parse_yes_no(raw)
    if qtype is QuestionType.CHOICE:
        choice_or_error = _match_choice(question, raw, language)
        if isinstance(choice_or_error, FormText):
            return _failure(choice_or_error)
        return _success(choice_or_error.key)
    if qtype is QuestionType.MULTI_CHOICE:
        return _parse_multi_choice(question, raw, language)
    if qtype is QuestionType.DATE:
        return _parse_date(raw, today)
    return _parse_text(question, text)


def input_limit(question: Question) -> int:
    """The longest answer (in characters) read for this question; a longer one is refused."""
    qtype = question.type
    if qtype.is_text:
        return RAW_TEXT_LIMIT
    if qtype is QuestionType.CHOICE:
        return CHOICE_LIMIT
    if qtype is QuestionType.MULTI_CHOICE:
        return MULTI_CHOICE_LIMIT
    return SHORT_ANSWER_LIMIT


def _too_long(question: Question, length: int, limit: int) -> FormText:
    if question.type.is_text:
        return _text_too_long(length, question.max_chars or limit)
    return form_text(
        N_(
            "That answer is too long for this question ({length} characters; at most "
            "{maximum}). Please type just the answer."
        ),
        length=length,
        maximum=limit,
    )


def _is_none_word(question: Question, raw: str) -> bool:
    folded = fold_words(raw)
    return folded == "none" or folded in {fold_words(word) for word in question.none_words}


# --------------------------------------------------------------------------- numbers
def check_number_bounds(question: Question, value: float) -> FormText | None:
    """The hard bounds (``min``/``max``; integers and percentages are never negative)."""
    low, high = question.hard_min, question.hard_max
    if low is not None and value < low:
        if low == 0:
            return form_text(N_("The number cannot be negative."))
        return form_text(N_("The number must be at least {minimum}."), minimum=low)
    if high is not None and value > high:
        return form_text(N_("The number must be at most {maximum}."), maximum=high)
    return None


def _parse_number(question: Question, raw: str) -> ParseResult:
    number = read_number(raw, question)
    if isinstance(number, FormText):
        return _failure(number)
    if question.type is QuestionType.INTEGER:
        if number != number.to_integral_value():
            return _failure(form_text(N_("Please type a whole number, for example 12.")))
        value: int | float = int(number)
    else:
        value = float(number)
    problem = check_number_bounds(question, value)
    return _failure(problem) if problem else _success(value)


def read_number(raw: str, question: Question) -> Decimal | FormText:
    """The number in a Vietnamese-style answer, before bounds are applied."""
    not_a_number = form_text(N_("Please type a number, for example 12 or 1.200."))
    text = fold(raw).rstrip(".;!?").strip()
    if fold_words(raw) in _ZERO_WORDS:
        return Decimal(0)
    percent = False
    for suffix in ("%", "phan tram", "percent"):
        if text.endswith(suffix):
            text, percent = text[: -len(suffix)].strip(), True
            break
    if percent and question.type is QuestionType.INTEGER:
        return not_a_number
    text = _strip_unit_words(text, question)
    negative = text[:1] in {"-", "\u2212"}
    if text[:1] in {"-", "\u2212", "+"}:
        text = text[1:].strip()
    if sum(char.isdigit() for char in text) > _MAX_DIGITS:
        return form_text(N_("That number is too large; please check it."))
    parts: list[tuple[str, str | None]] = []
    position = 0
    while position < len(text):
        match = _NUMBER_PART.match(text, position)
        if match is None or match.end() == position:
            return not_a_number
        parts.append((match.group(1), match.group(2)))
        position = match.end()
    if not parts or (percent and any(multiplier for _, multiplier in parts)):
        return not_a_number
    multipliers = [_MULTIPLIERS[word] if word else 1 for _, word in parts]
    if len(parts) > 1 and (
        not all(word for _, word in parts)
        or any(a <= b for a, b in itertools.pairwise(multipliers))
    ):
        return not_a_number  # "1 tỷ 200 triệu" is fine, "1 triệu 2" is not
    total = Decimal(0)
    comma_thousands = question.type is QuestionType.INTEGER
    for (literal, _), multiplier in zip(parts, multipliers, strict=True):
        number = _literal(literal.strip(), comma_thousands=comma_thousands)
        if number is None:
            return not_a_number
        total += number * multiplier
    return -total if negative else total


def _strip_unit_words(text: str, question: Question) -> str:
    """Drop "đồng", "lượt người" and the question's own unit after a number."""
    own = [unit for unit in (question.unit, question.unit_en) if unit]
    units = {fold(unit) for unit in own} | {fold_words(unit) for unit in own}
    words = sorted({*units, *_CURRENCY_WORDS, *_COUNT_WORDS}, key=len, reverse=True)
    for _ in range(2):  # "15 triệu đồng", "1.200 lượt người"
        for word in words:
            if word and text.endswith(word):
                head = text[: -len(word)]
                if head and (head.endswith(" ") or head[-1].isdigit()):
                    text = head.strip()
                    break
    return text


def _grouped(text: str, mark: str) -> bool:
    """Whether ``mark`` separates thousands: "1.200.000", not "0.500" or "12.5"."""
    groups = text.split(mark)
    head = groups[0]
    return (
        1 <= len(head) <= 3
        and head.isascii()
        and head.isdigit()
        and not (head.startswith("0"))
        and all(len(group) == 3 and group.isdigit() for group in groups[1:])
    )


def _literal(text: str, *, comma_thousands: bool) -> Decimal | None:
    if " " in text:
        if not _SPACED_THOUSANDS.fullmatch(text):
            return None
        text = text.replace(" ", "")
    if not re.fullmatch(r"[0-9][0-9.,]*", text) or text[-1] in ".,":
        return None
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        decimal_mark = "." if text.rfind(".") > text.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        if text.count(decimal_mark) != 1:
            return None
        integer, fraction = text.split(decimal_mark)
        if not _grouped(integer, thousands):
            return None
        return _decimal(integer.replace(thousands, "") + "." + fraction)
    if dots or commas:
        mark = "." if dots else ","
        grouped = _grouped(text, mark)
        if dots + commas > 1:
            return _decimal(text.replace(mark, "")) if grouped else None
        if grouped and (mark == "." or comma_thousands):
            return _decimal(text.replace(mark, ""))
        return _decimal(text.replace(",", "."))
    return _decimal(text)


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


# --------------------------------------------------------------------------- yes / no
def _parse_yes_no(raw: str) -> ParseResult:
    folded = fold_words(raw)
    if folded in _YES:
        return _success(True)
    if folded in _NO:
        return _success(False)
    return _failure(form_text(N_("Please answer yes or no.")))


# --------------------------------------------------------------------------- choices
def _labels(choice: Choice, language: str) -> tuple[str, str]:
    return _folded_labels(choice, language == "en")


@functools.lru_cache(maxsize=1024)
def _folded_labels(choice: Choice, english_first: bool) -> tuple[str, str]:
    """A choice's labels folded for matching, the reader's language first (folded once)."""
    first, second = (choice.en, choice.vi) if english_first else (choice.vi, choice.en)
    return fold_words(first), fold_words(second)


@functools.lru_cache(maxsize=1024)
def _folded_key(key: str) -> str:
    return fold_words(key)


@functools.lru_cache(maxsize=256)
def _longest_label_run(choices: tuple[Choice, ...]) -> int:
    """How many comma-separated pieces the longest label or key spans ("Tập huấn, bồi
    dưỡng": 2): a multi-choice answer joins at most that many pieces into one option."""
    pieces = [
        len([part for part in _SEPARATORS.split(text) if part.strip()])
        for choice in choices
        for text in (choice.key, choice.vi, choice.en)
    ]
    return max([1, *pieces])


def _exact_choice(
    question: Question, text: str, language: str, folded: str | None = None
) -> Choice | None:
    """The option ``text`` names exactly (``folded``: its ``fold_words``, if known)."""
    folded = fold_words(text) if folded is None else folded
    number = re.fullmatch(r"(?:so )?([0-9]{1,4})", folded)
    if number:
        index = int(number.group(1))
        return question.choices[index - 1] if 1 <= index <= len(question.choices) else None
    key = text.strip().lower()
    for choice in question.choices:
        if key == choice.key or folded == _folded_key(choice.key):
            return choice
    for choice in question.choices:
        if folded in _labels(choice, language):
            return choice
    return None


def _match_choice(question: Question, text: str, language: str) -> Choice | FormText:
    """By number (as shown), key or label; accents optional; exact, then unique prefix/word."""
    exact = _exact_choice(question, text, language)
    if exact is not None:
        return exact
    count = len(question.choices)
    folded = fold_words(text)
    number = re.fullmatch(r"(?:so )?([0-9]+)", folded)
    if number:
        return form_text(
            N_("There is no option {number}: please choose a number from 1 to {count}."),
            number=number.group(1)[:6],
            count=count,
        )
    if len(folded) >= 3:
        for matches in (
            lambda label: label.startswith(folded),
            lambda label: f" {folded} " in f" {label} ",
        ):
            found = [
                choice
                for choice in question.choices
                if any(matches(label) for label in _labels(choice, language))
            ]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                return form_text(
                    N_("“{text}” fits several options: {options}. Please type the number."),
                    text=text.strip()[:60],
                    options=tuple(
                        LocalText(
                            f"{question.choices.index(c) + 1}. {c.vi}",
                            f"{question.choices.index(c) + 1}. {c.en}",
                        )
                        for c in found
                    ),
                )
    return form_text(
        N_("Please choose an option: type its number (1 to {count}) or its name."), count=count
    )


def _parse_multi_choice(question: Question, raw: str, language: str) -> ParseResult:
    folded = fold_words(raw)
    chosen: list[Choice] = []
    if re.fullmatch(r"[0-9]+(?: [0-9]+)*", folded):  # "1, 3, 5", "1 3 5", "1;3"
        for token in folded.split():
            choice = _match_choice(question, token, language)
            if isinstance(choice, FormText):
                return _failure(choice)
            chosen.append(choice)
    else:
        segments = [segment.strip() for segment in _SEPARATORS.split(raw) if segment.strip()]
        # Labels contain commas ("Tập huấn, bồi dưỡng"): try the longest run first, but never
        # a run longer than any label, so the work grows with the answer's length only.
        longest = _longest_label_run(question.choices)
        pieces = [fold_words(segment) for segment in segments]  # each piece folded once
        start = 0
        while start < len(segments):
            for end in range(min(len(segments), start + longest), start, -1):
                run = ", ".join(segments[start:end])
                run_folded = " ".join(part for part in pieces[start:end] if part)
                exact = _exact_choice(question, run, language, run_folded)
                if exact is not None:
                    chosen.append(exact)
                    start = end
                    break
            else:
                choice = _match_choice(question, segments[start], language)
                if isinstance(choice, FormText):
                    return _failure(choice)
                chosen.append(choice)
                start += 1
    keys = {choice.key for choice in chosen}
    if not keys:
        return _failure(form_text(N_("Please choose at least one option.")))
    return _success([choice.key for choice in question.choices if choice.key in keys])


# --------------------------------------------------------------------------- dates
def _parse_date(raw: str, today: dt.date | None) -> ParseResult:
    text = fold(raw).rstrip(".")
    match = _ISO_DATE.fullmatch(text)
    if match:
        year, month, day = match.group(1), match.group(2), match.group(3)
    else:
        match = _NUMERIC_DATE.fullmatch(text) or _WORDED_DATE.fullmatch(text)
        if match is None:
            return _failure(
                form_text(N_("Please type a date as day/month/year, for example 05/06/2023."))
            )
        day, month, year = match.group(1), match.group(2), match.group(3)
    if year is None:
        if today is None:
            return _failure(form_text(N_("Please add the year, for example 05/06/2023.")))
        year_number = today.year
    else:
        year_number = int(year) + (2000 if len(year) == 2 else 0)
    try:
        value = dt.date(year_number, int(month), int(day))
    except ValueError:
        value = None
    if value is None or not _FIRST_YEAR <= value.year <= _LAST_YEAR:
        return _failure(
            form_text(
                N_("There is no such date: {text}. Please check the day, month and year."),
                text=raw.strip()[:40],
            )
        )
    return _success(value.isoformat())


# --------------------------------------------------------------------------- text
def _parse_text(question: Question, text: str) -> ParseResult:
    value = unicodedata.normalize("NFC", text).strip()
    if question.type is QuestionType.SHORT_TEXT:
        value = " ".join(value.split())
    else:
        lines = [line.rstrip() for line in value.replace("\r\n", "\n").split("\n")]
        value = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    minimum = question.min_length or 1
    maximum = question.max_chars
    if not value:
        return _failure(form_text(N_("Please type an answer.")))
    if len(value) < minimum:
        return _failure(
            form_text(
                N_("The answer is too short: please write at least {minimum} characters."),
                minimum=minimum,
            )
        )
    if maximum is not None and len(value) > maximum:
        return _failure(_text_too_long(len(value), maximum))
    return _success(value)


def _text_too_long(length: int, maximum: int) -> FormText:
    return form_text(
        N_("The answer is too long ({length} characters): please keep it to {maximum}."),
        length=length,
        maximum=maximum,
    )


# --------------------------------------------------------------------------- formatting
def format_value(question: Question, value: object, language: str) -> str:
    """An answer as the review screen and the export show it ("1.200 lượt người", "Có")."""
    if value is None:
        return question.none_label(language) or EMPTY
    qtype = question.type
    if qtype.is_numeric and isinstance(value, int | float) and not isinstance(value, bool):
        number = format_number(value, language)
        if qtype is QuestionType.PERCENTAGE:
            return f"{number}%"
        unit = question.unit_label(language)
        return f"{number} {unit}" if unit else number
    if qtype is QuestionType.YES_NO and isinstance(value, bool):
        return (YES_LABEL if value else NO_LABEL).get(language)
    if qtype.has_choices:
        keys: Sequence[object] = value if isinstance(value, list | tuple) else [value]
        labels = [_choice_label(question, key, language) for key in keys]
        return "; ".join(labels) if labels else EMPTY
    if qtype is QuestionType.DATE and isinstance(value, str):
        try:
            return format_date(dt.date.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def _choice_label(question: Question, key: object, language: str) -> str:
    choice = question.choice(str(key))
    return choice.label(language) if choice else str(key)
