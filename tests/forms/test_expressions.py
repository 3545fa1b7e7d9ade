"""The rule language: what it computes, and everything it refuses."""

from __future__ import annotations

import pytest

from domain.forms.expressions import (
    EvaluationError,
    ExpressionError,
    compile_expression,
    has_phone,
)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("value <= comm_participants_total", {"value": 5, "comm_participants_total": 10}, True),
        ("value <= comm_participants_total", {"value": 11, "comm_participants_total": 10}, False),
        ("0 <= value <= 100", {"value": 50}, True),
        ("0 <= value <= 100", {"value": 150}, False),
        ("value == 0 or value >= 10000", {"value": 0}, True),
        ("value == 0 or value >= 10000", {"value": 500}, False),
        ("not has_female_key_leader", {"has_female_key_leader": False}, True),
        ("launch_event_date is not None", {"launch_event_date": None}, False),
        ("launch_event_date is None", {"launch_event_date": None}, True),
        ("'khac' in activity_forms", {"activity_forms": ["tap_huan", "khac"]}, True),
        ("'khac' not in activity_forms", {"activity_forms": ["tap_huan"]}, True),
        ("value <= 3 * (a + b) + 50", {"value": 59, "a": 1, "b": 2}, True),
        ("value / total >= 0.5", {"value": 1, "total": 2}, True),
        ("-value < 0", {"value": 3}, True),
        ("abs(value - 10) <= 0.5", {"value": 10.4}, True),
        ("min(a, b) == 1 and max(a, b) == 2", {"a": 2, "b": 1}, True),
        ("max([1, 5, 3]) == 5", {}, True),
        ("len(value) >= 10", {"value": "ngắn"}, False),
        ("has_phone(value)", {"value": "Nguyễn Thị Hoa, 0912 345 678"}, True),
        ("month(value) in [11, 12]", {"value": "2023-11-15"}, True),
        ("value <= today", {"value": "2023-06-05", "today": "2023-06-30"}, True),
        ("value == 'Có'", {"value": "Có"}, True),
        ("has_female_key_leader == True", {"has_female_key_leader": True}, True),
    ],
)
def test_evaluates(text: str, env: dict[str, object], expected: object) -> None:
    assert bool(compile_expression(text).evaluate(env)) is expected


def test_names_are_the_referenced_answers() -> None:
    expression = compile_expression("value <= a + b and has_phone(c) and 'x' in d")
    assert expression.names == {"value", "a", "b", "c", "d"}
    assert compile_expression("  a >  1 ") == compile_expression("a >  1")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("__import__('os').system('ls')", "only these functions may be called"),
        ("value.__class__", "attribute access"),
        ("(lambda: 1)()", "only these functions may be called"),
        ("lambda: 1", "lambda is not allowed"),
        ("[x for x in value]", "comprehensions are not allowed"),
        ("{x for x in value}", "comprehensions are not allowed"),
        ("sum(x for x in value)", "unknown function 'sum'"),
        ("len(x for x in value)", "comprehensions are not allowed"),
        ("value[0]", "indexing"),
        ("f'{value}'", "f-strings"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("len(value, x=1)", "keyword arguments"),
        ("len(*value)", "unpacking"),
        ("len(a, b)", "takes 1 argument(s), not 2"),
        ("value is 5", "'is' and 'is not' may only compare with None"),
        ("2 ** 100000", "only + - * /"),
        ("value % 2", "only + - * /"),
        ("~value", "only 'not', '-' and '+'"),
        ("(x := 1)", "':=' is not allowed"),
        ("1 if value else 2", "and'/'or"),
        ("{'a': 1}", "dictionaries"),
        ("_secret > 1", "the name '_secret' is not allowed"),
        ("b'bytes'", "constants of type bytes"),
        ("len", "is a function"),
        ("", "empty"),
        ("x" * 501, "longer than"),
    ],
)
def test_rejects(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    assert fragment in str(caught.value)


def test_errors_carry_a_column() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("a > 1 and b.c")
    assert caught.value.column == 11
    # Columns count characters, not UTF-8 bytes, after a Vietnamese string.
    with pytest.raises(ExpressionError) as caught:
        compile_expression("value == 'Đồng ý' and x.y")
    assert caught.value.column == 23
    with pytest.raises(ExpressionError) as caught:
        compile_expression("a >")
    assert caught.value.column >= 3
    assert str(caught.value).startswith(f"column {caught.value.column}: syntax error")


@pytest.mark.parametrize(
    ("text", "env"),
    [
        ("value <= total", {"value": 1}),  # no answer for total
        ("value <= total", {"value": None, "total": 3}),  # None compared with a number
        ("value / total > 1", {"value": 1, "total": 0}),
        ("value + 1 > 1", {"value": "text"}),
        ("value + 1 > 1", {"value": True}),
        ("month(value) == 6", {"value": None}),
        ("has_phone(value)", {"value": 12}),
        ("'a' in value", {"value": 3}),
        ("len(value) > 1", {"value": 3}),
        ("min([]) > 1", {}),
        ("value > 'a'", {"value": 3}),
    ],
)
def test_evaluation_errors_are_evaluation_errors(text: str, env: dict[str, object]) -> None:
    with pytest.raises(EvaluationError):
        compile_expression(text).evaluate(env)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0912345678", True),
        ("Nguyễn Thị Hoa, chuyên viên, 0912 345 678", True),
        ("ĐT: 0912.345.678", True),
        ("0912-345-678", True),
        ("+84 912 345 678", True),
        ("0213 3876 543 (cơ quan)", True),
        ("091 234 5678", True),
        ("Chị Hoa", False),
        ("091234567", False),  # 9 digits
        ("09123456789", False),  # 11 digits, not a landline
        ("1912345678", False),  # does not start with 0
        ("01.02.2023 45", False),  # a date and a number, not a phone
        ("", False),
    ],
)
def test_has_phone(text: str, expected: bool) -> None:
    assert has_phone(text) is expected


def test_compared_texts() -> None:
    expression = compile_expression("'khac' in forms and kind == 'a' and 'b' != kind and x > 1")
    assert sorted(expression.compared_texts()) == [("forms", "khac"), ("kind", "a"), ("kind", "b")]
