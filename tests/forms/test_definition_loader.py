"""The shipped forms load and are valid; broken definitions are refused with file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from domain.forms import (
    DEFAULT_FORMS_DIR,
    UNIT_KINDS,
    FormDefinitionError,
    QuestionType,
    check_forms,
    load_forms,
)
from domain.forms.definition import LABEL_MAX
from storage.models import UnitKind

FORM_KEYS = {"six_month", "annual", "action_month_dv", "action_month_ge", "ad_hoc"}


# --------------------------------------------------------------------------- shipped forms
def test_shipped_forms_load_and_are_valid() -> None:
    forms = load_forms()
    assert set(forms) == FORM_KEYS
    assert check_forms(DEFAULT_FORMS_DIR) == []
    for form in forms.values():
        assert form.version == 1
        assert form.title_vi and form.title_en
        assert form.questions[-1].key == "reporter_contact"
        for question in form.questions:
            assert question.text_vi and question.text_en, question.key
            assert 0 < len(question.label_vi) <= LABEL_MAX, question.key
            assert 0 < len(question.label_en) <= LABEL_MAX, question.key
            assert form.section(question.section) is not None, question.key


def test_shipped_forms_cover_the_plan_areas() -> None:
    sections = {section.key for section in load_forms()["six_month"].sections}
    assert {
        "chi_dao",
        "can_bo_nu",
        "truyen_thong",
        "tap_huan",
        "kiem_tra",
        "bao_luc",
        "mo_hinh",
        "kinh_phi",
        "danh_gia",
        "kien_nghi",
        "nguoi_lap",
    } <= sections


def test_forms_override_library_fields() -> None:
    forms = load_forms()
    six, annual = forms["six_month"], forms["annual"]
    assert "6 tháng cuối năm" in six.question("next_period_tasks").text_vi
    assert "năm tới" in annual.question("next_period_tasks").text_vi
    assert forms["ad_hoc"].question("comm_sessions").required is False
    assert six.question("comm_sessions").required is True
    dv_checks = [
        c.expression.text for c in forms["action_month_dv"].question("launch_event_date").checks
    ]
    assert "month(value) in [5, 6]" in dv_checks


def test_unit_kinds_match_storage() -> None:
    assert set(UNIT_KINDS) == {kind.value for kind in UnitKind}


def test_follow_ups_are_flattened_after_their_parent() -> None:
    form = load_forms()["six_month"]
    keys = [question.key for question in form.questions]
    assert keys.index("doc_plans_list") == keys.index("doc_plans_issued") + 1
    other = form.question("activity_forms_other")
    assert other.ask_if is not None and other.ask_if.names == {"activity_forms"}
    assert form.question("activity_forms").type is QuestionType.MULTI_CHOICE


# --------------------------------------------------------------------------- broken forms
GOOD_QUESTION = """\
  - key: total
    type: integer
    text_vi: "Tổng số?"
    text_en: "Total?"
    label_vi: "Tổng"
    label_en: "Total"
"""


def _write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(textwrap.dedent(text), encoding="utf-8")


def _form(questions: str, *, header: str = "") -> str:
    return (
        'key: demo\nversion: 1\ntitle_vi: "Thử"\ntitle_en: "Demo"\n'
        + header
        + "questions:\n"
        + questions
    )


def _problems(tmp_path: Path, questions: str, *, header: str = "", library: str = "") -> list[str]:
    _write(tmp_path, "demo.yaml", _form(questions, header=header))
    if library:
        _write(tmp_path, "_questions.yaml", library)
    with pytest.raises(FormDefinitionError) as caught:
        load_forms(tmp_path)
    assert check_forms(tmp_path) == caught.value.problems
    return caught.value.problems


def _one(problems: list[str], fragment: str) -> str:
    matching = [problem for problem in problems if fragment in problem]
    assert matching, f"no problem mentions {fragment!r}: {problems}"
    return matching[0]


def test_a_valid_minimal_form_loads(tmp_path: Path) -> None:
    _write(tmp_path, "demo.yaml", _form(GOOD_QUESTION))
    form = load_forms(tmp_path)["demo"]
    assert [question.key for question in form.questions] == ["total"]
    assert form.question("total").origin == "demo.yaml:6"


def test_unknown_field_names_file_and_line(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION + '    tex_vi: "?"\n')
    assert _one(problems, "unknown field 'tex_vi'").startswith("demo.yaml:12: ")
    assert "did you mean 'text_vi'" in _one(problems, "tex_vi")


def test_unknown_form_field(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION, header="deadline: 06-05\n")
    assert _one(problems, "unknown field 'deadline'").startswith("demo.yaml:5: ")


def test_duplicate_question_keys(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION + GOOD_QUESTION)
    assert _one(problems, "already used").startswith("demo.yaml:12: ")
    assert "demo.yaml:6" in _one(problems, "already used")


def test_duplicate_yaml_field(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION + "    type: decimal\n")
    assert _one(problems, "'type' is given twice").startswith("demo.yaml:12: ")


def test_unknown_type(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION.replace("integer", "number"))
    assert _one(problems, "unknown type 'number'").startswith("demo.yaml:7: ")


def test_choice_question_without_choices(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION.replace("integer", "choice"))
    assert _one(problems, "needs at least 2 choices").startswith("demo.yaml:6: ")


def test_bad_choices(tmp_path: Path) -> None:
    questions = GOOD_QUESTION.replace("integer", "multi_choice") + textwrap.indent(
        'choices:\n  - {key: a, vi: "A", en: "A"}\n  - {key: a, vi: "B", en: "B"}\n'
        '  - {key: c, vi: "C"}\n',
        "    ",
    )
    problems = _problems(tmp_path, questions)
    assert _one(problems, "choice key 'a' is used twice").startswith("demo.yaml:14: ")
    assert _one(problems, "needs both vi and en").startswith("demo.yaml:15: ")


def test_inconsistent_bounds(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION + "    min: 10\n    max: 5\n    soft_max: 50\n")
    assert _one(problems, "min (10) of 'total' is above max (5)").startswith("demo.yaml:12: ")
    assert _one(problems, "soft_max of 'total' is above max").startswith("demo.yaml:14: ")


def test_bounds_on_a_text_question(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        GOOD_QUESTION.replace("integer", "short_text") + "    max: 5\n    max_length: 500\n",
    )
    assert _one(problems, "max only applies to number questions").startswith("demo.yaml:12: ")
    assert _one(problems, "over the short_text limit (200)").startswith("demo.yaml:13: ")


def test_negative_minimum_for_integers(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION + "    min: -1\n")
    assert _one(problems, "never negative").startswith("demo.yaml:12: ")


def test_expression_syntax_error(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION + '    ask_if: "total >"\n')
    problem = _one(problems, "syntax error")
    assert problem.startswith("demo.yaml:12: ")
    assert "column" in problem


def test_forbidden_expression(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION + "    ask_if: \"__import__('os')\"\n")
    assert _one(problems, "unknown function '__import__'").startswith("demo.yaml:12: ")


def test_expression_naming_an_unknown_question(tmp_path: Path) -> None:
    checks = (
        '    checks:\n      - expr: "value <= totl"\n        severity: error\n'
        '        message_vi: "Sai"\n        message_en: "Wrong"\n'
    )
    second = GOOD_QUESTION.replace("key: total", "key: women") + checks
    problems = _problems(tmp_path, GOOD_QUESTION + second)
    problem = _one(problems, "'totl', which is not a question of this form")
    assert problem.startswith("demo.yaml:19: ")
    assert "did you mean 'total'" in problem


def test_expression_naming_a_later_question(tmp_path: Path) -> None:
    first = GOOD_QUESTION.replace("key: total", "key: women") + '    ask_if: "total > 0"\n'
    problems = _problems(tmp_path, first + GOOD_QUESTION)
    problem = _one(problems, "asked later")
    assert problem.startswith("demo.yaml:12: ")
    assert "demo.yaml:13" in problem


def test_ask_if_cannot_use_value_or_itself(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION + '    ask_if: "value > 0 or total > 1"\n')
    assert _one(problems, "ask_if cannot use 'value'").startswith("demo.yaml:12: ")
    assert _one(problems, "names its own question").startswith("demo.yaml:12: ")


def test_bad_severity_and_missing_messages(tmp_path: Path) -> None:
    checks = '    checks:\n      - expr: "value < 10"\n        severity: fatal\n'
    problems = _problems(tmp_path, GOOD_QUESTION + checks)
    assert _one(problems, "severity 'fatal'").startswith("demo.yaml:14: ")
    assert _one(problems, "needs a 'message_vi'").startswith("demo.yaml:13: ")
    assert _one(problems, "needs a 'message_en'").startswith("demo.yaml:13: ")


def test_missing_texts_and_labels(tmp_path: Path) -> None:
    question = GOOD_QUESTION.replace('    text_en: "Total?"\n', "").replace(
        '    label_vi: "Tổng"\n', '    label_vi: ""\n'
    )
    problems = _problems(tmp_path, question)
    assert _one(problems, "needs a 'text_en'").startswith("demo.yaml:6: ")
    assert _one(problems, "needs a 'label_vi'").startswith("demo.yaml:9: ")


def test_label_too_long(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION.replace('"Total"', '"' + "x" * 61 + '"'))
    assert _one(problems, "over 60 characters").startswith("demo.yaml:11: ")


def test_unknown_unit_kind_and_section(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path, GOOD_QUESTION + "    applies_to: [district, village]\n    section: nowhere\n"
    )
    assert _one(problems, "unknown unit kind(s) 'village'").startswith("demo.yaml:12: ")
    assert _one(problems, "unknown section 'nowhere'").startswith("demo.yaml:13: ")


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD_QUESTION + '    text_vi: "unclosed\n  - key: x\n')
    assert len(problems) == 1
    assert problems[0].startswith("demo.yaml:")
    assert "not valid YAML" in problems[0]


def test_form_header_problems(tmp_path: Path) -> None:
    _write(tmp_path, "demo.yaml", 'key: other\nversion: zero\ntitle_vi: "Thử"\nquestions: []\n')
    with pytest.raises(FormDefinitionError) as caught:
        load_forms(tmp_path)
    problems = caught.value.problems
    assert _one(problems, "'key' must be 'demo'").startswith("demo.yaml:1: ")
    assert _one(problems, "'version' must be").startswith("demo.yaml:2: ")
    assert _one(problems, "needs a 'title_en'").startswith("demo.yaml:1: ")
    assert _one(problems, "non-empty list").startswith("demo.yaml:4: ")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    questions = (
        GOOD_QUESTION.replace("integer", "number")
        + GOOD_QUESTION.replace("key: total", "key: b").replace("integer", "choice")
        + GOOD_QUESTION.replace("key: total", "key: c")
        + "    soft_min: 5\n    soft_max: 1\n"
    )
    problems = _problems(tmp_path, questions)
    assert len(problems) == 3
    assert [problem.split(":")[1] for problem in problems] == ["7", "12", "24"]


# --------------------------------------------------------------------------- the library
LIBRARY = """\
questions:
  - key: total
    type: integer
    text_vi: "Tổng số?"
    text_en: "Total?"
    label_vi: "Tổng"
    label_en: "Total"
  - key: broken
    type: integer
    text_vi: "Hỏng?"
    text_en: "Broken?"
    label_vi: "Hỏng"
    label_en: "Broken"
    max: -5
"""


def test_library_questions_are_used_and_overridden(tmp_path: Path) -> None:
    _write(tmp_path, "_questions.yaml", LIBRARY.split("  - key: broken")[0])
    _write(tmp_path, "demo.yaml", _form("  - use: total\n    required: false\n  - total2\n"))
    with pytest.raises(FormDefinitionError) as caught:
        load_forms(tmp_path)
    assert _one(caught.value.problems, "no question 'total2'").startswith("demo.yaml:8: ")
    _write(tmp_path, "demo.yaml", _form("  - use: total\n    required: false\n"))
    question = load_forms(tmp_path)["demo"].question("total")
    assert question.required is False
    assert question.text_en == "Total?"


def test_library_problems_point_into_the_library(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "  - use: total\n", library=LIBRARY)
    assert problems == [
        "_questions.yaml:14: max of 'broken' is below 0: answers are never negative"
    ]


def test_override_problems_point_into_the_form(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path, "  - use: total\n    requird: false\n    max: many\n", library=LIBRARY
    )
    assert _one(problems, "unknown field 'requird'").startswith("demo.yaml:7: ")
    assert _one(problems, "max of 'total' must be a number").startswith("demo.yaml:8: ")


def test_use_and_key_together(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "  - use: total\n    key: total\n", library=LIBRARY)
    assert _one(problems, "either 'use'").startswith("demo.yaml:6: ")


def test_yes_and_no_stay_text_in_yaml(tmp_path: Path) -> None:
    question = (
        GOOD_QUESTION.replace("integer", "date")
        + "    allow_none: true\n    none_words: [no, không tổ chức]\n"
    )
    _write(tmp_path, "demo.yaml", _form(question))
    assert load_forms(tmp_path)["demo"].question("total").none_words == ("no", "không tổ chức")


def test_a_directory_without_forms(tmp_path: Path) -> None:
    with pytest.raises(FormDefinitionError, match="no form definitions"):
        load_forms(tmp_path)


def test_texts_compared_with_a_choice_must_be_its_keys(tmp_path: Path) -> None:
    multi = GOOD_QUESTION.replace("integer", "multi_choice") + (
        '    choices:\n      - {key: tap_huan, vi: "Tập huấn", en: "Training"}\n'
        '      - {key: khac, vi: "Khác", en: "Other"}\n'
    )
    other = GOOD_QUESTION.replace("key: total", "key: other").replace("integer", "short_text")
    problems = _problems(tmp_path, multi + other + "    ask_if: \"'khác' in total\"\n")
    problem = _one(problems, "'khác' is not a choice key of 'total'")
    assert problem.startswith("demo.yaml:21: ")
    assert "(keys: khac, tap_huan)" in problem
