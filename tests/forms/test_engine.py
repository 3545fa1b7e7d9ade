"""The engine over the shipped forms: order, follow-ups, rules, review, navigation."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.forms import engine, load_forms
from domain.forms.definition import AnswerValue, Form, QuestionType, Severity
from domain.forms.parsing import parse_answer
from domain.i18n import translator_for

FORMS = load_forms()
SIX = FORMS["six_month"]
GE = FORMS["action_month_ge"]
DV = FORMS["action_month_dv"]
VI, EN = translator_for("vi"), translator_for("en")
DEPT = "department"


def _keys(form: Form, answers: dict[str, AnswerValue], kind: str = DEPT) -> list[str]:
    return [question.key for question in engine.visible_questions(form, kind, answers)]


def _verdict(
    form: Form,
    key: str,
    value: AnswerValue,
    answers: dict[str, AnswerValue],
    *,
    confirmed: bool = False,
    today: dt.date | None = None,
) -> engine.Verdict:
    question = form.question(key)
    return engine.evaluate_answer(form, question, value, answers, confirmed=confirmed, today=today)


def _render(verdict: engine.Verdict, translator: object = EN) -> str:
    assert verdict.message is not None
    return verdict.message.render(translator)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- follow-ups
def test_follow_up_appears_only_when_its_condition_holds() -> None:
    assert "doc_plans_list" not in _keys(SIX, {})
    assert "doc_plans_list" not in _keys(SIX, {"doc_plans_issued": 0})
    assert "doc_plans_list" in _keys(SIX, {"doc_plans_issued": 2})


def test_changing_an_earlier_answer_prunes_its_follow_ups() -> None:
    answers: dict[str, AnswerValue] = {
        "comm_sessions": 4,
        "comm_participants_total": 120,
        "comm_participants_female": 70,
    }
    assert engine.prune(SIX, DEPT, answers) == answers
    changed = engine.set_answer(SIX, DEPT, answers, "comm_sessions", 0)
    # The grandchild goes too, although its own parent's stale answer was still there.
    assert changed == {"comm_sessions": 0}
    assert "comm_participants_female" not in _keys(SIX, {**answers, "comm_sessions": 0})
    restored = engine.set_answer(SIX, DEPT, changed, "comm_sessions", 4)
    assert _keys(SIX, restored)[_keys(SIX, restored).index("comm_sessions") + 1] == (
        "comm_participants_total"
    )


def test_multi_choice_other_asks_for_details() -> None:
    assert "activity_forms_other" not in _keys(SIX, {"activity_forms": ["tap_huan"]})
    assert "activity_forms_other" in _keys(SIX, {"activity_forms": ["tap_huan", "khac"]})


def test_yes_no_and_none_conditions() -> None:
    assert "female_key_leader_titles" in _keys(SIX, {"has_female_key_leader": True})
    assert "female_key_leader_titles" not in _keys(SIX, {"has_female_key_leader": False})
    assert "launch_event_participants" in _keys(GE, {"launch_event_date": "2023-11-15"})
    assert "launch_event_participants" not in _keys(GE, {"launch_event_date": None})
    assert "launch_event_participants" not in _keys(GE, {})


def test_questions_apply_to_unit_kinds() -> None:
    def applicable(kind: str) -> set[str]:
        return {question.key for question in engine.applicable_questions(SIX, kind)}

    assert "child_marriage_cases" in applicable("commune")
    assert "child_marriage_cases" in applicable("district")
    assert "child_marriage_cases" not in applicable("department")
    assert "trafficking_cases" not in applicable("organisation")
    assert "comm_sessions" in applicable("organisation")


# --------------------------------------------------------------------------- order
def test_next_question_walks_the_form_in_order() -> None:
    assert engine.next_question(SIX, DEPT, {}) == SIX.question("doc_plans_issued")
    answers: dict[str, AnswerValue] = {"doc_plans_issued": 0}
    assert engine.next_question(SIX, DEPT, answers).key == "ban_vstbpn_consolidated"  # type: ignore[union-attr]
    answers = {"doc_plans_issued": 3}
    assert engine.next_question(SIX, DEPT, answers).key == "doc_plans_list"  # type: ignore[union-attr]


def test_only_optional_questions_can_be_skipped() -> None:
    answers: dict[str, AnswerValue] = {
        "doc_plans_issued": 0,
        "ban_vstbpn_consolidated": True,
        "gender_mainstreamed": True,
    }
    assert engine.next_question(SIX, DEPT, answers).key == "ban_meetings"  # type: ignore[union-attr]
    after_skip = engine.next_question(SIX, DEPT, answers, {"ban_meetings"})
    assert after_skip is not None and after_skip.key == "staff_total"
    # A required question in "skipped" is asked anyway.
    assert engine.next_question(SIX, DEPT, answers, {"ban_meetings", "staff_total"}) == (
        SIX.question("staff_total")
    )


def test_back_navigation() -> None:
    answers: dict[str, AnswerValue] = {"doc_plans_issued": 0, "ban_vstbpn_consolidated": True}
    previous = engine.previous_question(SIX, DEPT, answers, "gender_mainstreamed")
    assert previous is not None and previous.key == "ban_vstbpn_consolidated"
    # The hidden follow-up is stepped over.
    previous = engine.previous_question(SIX, DEPT, answers, "ban_vstbpn_consolidated")
    assert previous is not None and previous.key == "doc_plans_issued"
    assert engine.previous_question(SIX, DEPT, answers, "doc_plans_issued") is None
    # From the review screen: the last question.
    last = engine.previous_question(SIX, DEPT, answers, None)
    assert last is not None and last.key == "reporter_contact"
    # From a question that is hidden now: the visible one before it.
    previous = engine.previous_question(SIX, DEPT, answers, "doc_plans_list")
    assert previous is not None and previous.key == "doc_plans_issued"


# --------------------------------------------------------------------------- verdicts
def test_women_cannot_outnumber_the_total() -> None:
    answers: dict[str, AnswerValue] = {"comm_sessions": 3, "comm_participants_total": 100}
    verdict = _verdict(SIX, "comm_participants_female", 120, answers)
    assert verdict.rejected
    assert _render(verdict) == (
        "The number of women attending cannot be higher than the total attendance."
    )
    assert _render(verdict, VI) == (
        "Số lượt nữ tham dự không được lớn hơn tổng số lượt người tham dự."
    )
    # Even confirmed, an error stays an error.
    assert _verdict(SIX, "comm_participants_female", 120, answers, confirmed=True).rejected
    assert _verdict(SIX, "comm_participants_female", 100, answers).accepted


def test_a_warning_asks_for_confirmation() -> None:
    answers: dict[str, AnswerValue] = {"comm_sessions": 10}
    verdict = _verdict(SIX, "comm_participants_total", 5, answers)
    assert verdict.needs_confirmation
    assert "fewer attendees than sessions" in _render(verdict)
    assert _verdict(SIX, "comm_participants_total", 5, answers, confirmed=True).accepted
    assert _verdict(SIX, "comm_participants_total", 50, answers).accepted


def test_soft_bounds_ask_for_confirmation() -> None:
    verdict = _verdict(SIX, "comm_sessions", 5000, {})
    assert verdict.needs_confirmation
    assert _render(verdict) == "5,000 is higher than usual (usually at most 2,000)."
    assert "5.000" in _render(verdict, VI) and "2.000" in _render(verdict, VI)
    assert _verdict(SIX, "comm_sessions", 5000, {}, confirmed=True).accepted


def test_several_warnings_are_shown_together() -> None:
    verdict = _verdict(SIX, "budget_spent_vnd", 500, {})
    assert verdict.needs_confirmation and len(verdict.messages) == 1
    answers: dict[str, AnswerValue] = {"comm_sessions": 10}
    verdict = _verdict(SIX, "comm_participants_total", 200_000, answers)
    assert verdict.needs_confirmation  # above soft_max; the ">= sessions" rule holds
    verdict = _verdict(SIX, "comm_participants_total", 200_000, {"comm_sessions": 300_000})
    assert len(verdict.messages) == 2
    assert len(_render(verdict).splitlines()) == 2


def test_hard_bounds_reject() -> None:
    verdict = _verdict(SIX, "staff_total", 0, {})
    assert verdict.rejected
    assert _render(verdict) == "The number must be at least 1."
    assert _verdict(SIX, "comm_sessions", -1, {}).rejected
    assert _verdict(SIX, "comm_sessions", 2.5, {}).rejected
    assert _verdict(SIX, "activity_forms", ["unknown"], {}).rejected
    assert _verdict(SIX, "activity_forms", [], {}).rejected
    assert _verdict(SIX, "comm_sessions", None, {}).rejected


def test_a_check_with_an_unanswered_name_is_skipped() -> None:
    # comm_participants_total was skipped or not asked: nothing to compare with.
    assert _verdict(SIX, "comm_participants_female", 500, {}).accepted


def test_rules_using_today() -> None:
    today = dt.date(2023, 11, 20)
    assert _verdict(GE, "launch_event_date", "2023-11-15", {}, today=today).accepted
    future = _verdict(GE, "launch_event_date", "2023-11-25", {}, today=today)
    assert future.rejected
    assert _render(future) == "The date cannot be later than today."
    odd = _verdict(GE, "launch_event_date", "2023-09-01", {}, today=today)
    assert odd.needs_confirmation and "15 November" in _render(odd)
    june = _verdict(DV, "launch_event_date", "2023-06-01", {}, today=dt.date(2023, 7, 1))
    assert june.accepted
    # "Not held" passes: checks that cannot be evaluated on None are skipped.
    assert _verdict(GE, "launch_event_date", None, {}, today=today).accepted
    # Without today, the rule that needs it is skipped.
    assert _verdict(GE, "launch_event_date", "2023-11-25", {}).accepted


def test_phone_number_warning() -> None:
    verdict = _verdict(SIX, "reporter_contact", "Nguyễn Thị Hoa, chuyên viên", {})
    assert verdict.needs_confirmation
    assert "phone number" in _render(verdict)
    assert _verdict(SIX, "reporter_contact", "Nguyễn Thị Hoa, 0912 345 678", {}).accepted


# --------------------------------------------------------------------------- prompts
def test_prompt_for_a_first_question() -> None:
    prompt = engine.prompt_for(SIX, SIX.question("doc_plans_issued"), DEPT, {}, "vi")
    assert prompt.question_key == "doc_plans_issued"
    assert prompt.text.startswith("Trong kỳ báo cáo")
    assert prompt.options == ()
    assert not prompt.multi and not prompt.can_skip and not prompt.can_go_back
    assert prompt.position == 1
    assert prompt.total == len(engine.visible_questions(SIX, DEPT, {}))
    assert prompt.section == "Công tác chỉ đạo, điều hành và phối hợp"
    assert prompt.opens_section
    assert prompt.unit == "văn bản"
    assert prompt.current is None


def test_prompt_options_and_position() -> None:
    answers: dict[str, AnswerValue] = {"doc_plans_issued": 0}
    prompt = engine.prompt_for(SIX, SIX.question("ban_vstbpn_consolidated"), DEPT, answers, "en")
    assert [(o.token, o.label("en"), o.label("vi")) for o in prompt.options] == [
        ("yes", "Yes", "Có"),
        ("no", "No", "Không"),
    ]
    assert prompt.position == 2 and prompt.can_go_back and not prompt.opens_section
    assert prompt.text.startswith("Did the unit")
    for option in prompt.options:  # every token parses back
        assert parse_answer(SIX.question("ban_vstbpn_consolidated"), option.token, "en").ok

    multi = SIX.question("activity_forms")
    answers = {"activity_forms": ["tap_huan", "khac"]}
    prompt = engine.prompt_for(SIX, multi, DEPT, answers, "vi")
    assert prompt.multi and len(prompt.options) == len(multi.choices)
    assert prompt.options[2].token == "3" and prompt.options[2].label("vi") == "Tập huấn, bồi dưỡng"
    assert prompt.selected == ("3", str(len(multi.choices)))
    assert prompt.current == "Tập huấn, bồi dưỡng; Khác"
    assert parse_answer(multi, ",".join(prompt.selected), "vi").value == ["tap_huan", "khac"]


def test_prompt_offers_none_for_a_date() -> None:
    question = GE.question("launch_event_date")
    prompt = engine.prompt_for(GE, question, DEPT, {}, "vi")
    assert [(o.token, o.label("vi"), o.label("en")) for o in prompt.options] == [
        ("none", "Không tổ chức", "Not held")
    ]
    assert parse_answer(question, "none", "vi").ok
    assert parse_answer(question, "none", "vi").value is None
    prompt = engine.prompt_for(GE, question, DEPT, {"launch_event_date": None}, "en")
    assert prompt.selected == ("none",) and prompt.current == "Not held"


def test_optional_questions_can_be_skipped() -> None:
    prompt = engine.prompt_for(SIX, SIX.question("ban_meetings"), DEPT, {}, "vi")
    assert prompt.can_skip


# --------------------------------------------------------------------------- review
def test_review_lines_and_missing_answers() -> None:
    answers: dict[str, AnswerValue] = {
        "doc_plans_issued": 2,
        "doc_plans_list": "KH 12/KH-UBND",
        "has_female_key_leader": True,
        "budget_spent_vnd": 15_000_000,
        "activity_forms": ["tap_huan"],
        "comm_sessions": 0,
        "comm_participants_total": 9,  # stale: hidden since comm_sessions is 0
    }
    lines = dict(engine.review_lines(SIX, DEPT, answers, "vi"))
    assert lines["Văn bản chỉ đạo, kế hoạch đã ban hành"] == "2 văn bản"
    assert lines["Có nữ lãnh đạo chủ chốt"] == "Có"
    assert lines["Tổng kinh phí đã sử dụng"] == "15.000.000 đồng"
    assert lines["Hình thức hoạt động đã triển khai"] == "Tập huấn, bồi dưỡng"
    assert lines["Tổng số CBCCVC và người lao động"] == "—"
    assert "Lượt người dự tuyên truyền" not in lines
    english = dict(engine.review_lines(SIX, DEPT, answers, "en"))
    assert english["Funds spent, total"] == "15,000,000 VND"
    missing = {question.key for question in engine.missing_required(SIX, DEPT, answers)}
    assert "staff_total" in missing and "female_key_leader_titles" in missing
    assert "ban_meetings" not in missing  # optional
    assert "comm_participants_total" not in missing  # not asked


def test_review_issues_after_an_earlier_answer_changed() -> None:
    answers: dict[str, AnswerValue] = {
        "comm_sessions": 3,
        "comm_participants_total": 100,
        "comm_participants_female": 60,
    }
    assert engine.review_issues(SIX, DEPT, answers) == []
    answers["comm_participants_total"] = 50
    issues = engine.review_issues(SIX, DEPT, answers)
    assert [(issue.question_key, issue.severity) for issue in issues] == [
        ("comm_participants_female", Severity.ERROR)
    ]


# --------------------------------------------------------------------------- a whole form
SAMPLE_TEXT = {
    QuestionType.INTEGER: "3",
    QuestionType.DECIMAL: "2,5",
    QuestionType.PERCENTAGE: "45%",
    QuestionType.YES_NO: "có",
    QuestionType.CHOICE: "1",
    QuestionType.MULTI_CHOICE: "1, 3, 13",
    QuestionType.SHORT_TEXT: "Nguyễn Thị Hoa, chuyên viên, 0912 345 678",
    QuestionType.LONG_TEXT: "Địa bàn rộng, giao thông đi lại khó khăn.",
    QuestionType.DATE: "20/11/2023",
}


@pytest.mark.parametrize("form_key", sorted(FORMS))
@pytest.mark.parametrize("kind", ["department", "organisation", "district", "commune"])
def test_a_whole_form_can_be_filled_in(form_key: str, kind: str) -> None:
    form = FORMS[form_key]
    today = dt.date(2023, 12, 1)
    answers: dict[str, AnswerValue] = {}
    for _ in range(len(form.questions) + 1):
        question = engine.next_question(form, kind, answers)
        if question is None:
            break
        text = SAMPLE_TEXT[question.type]
        if question.key == "budget_spent_vnd":
            text = "15 triệu"
        parsed = parse_answer(question, text, "vi", today=today)
        assert parsed.ok, question.key
        verdict = engine.evaluate_answer(
            form, question, parsed.value, answers, confirmed=True, today=today
        )
        assert not verdict.rejected, (question.key, verdict.message)
        answers = engine.set_answer(form, kind, answers, question.key, parsed.value)
    else:
        pytest.fail("the form never ended")
    assert engine.missing_required(form, kind, answers) == []
    assert all(
        issue.severity is Severity.WARN for issue in engine.review_issues(form, kind, answers)
    )
    assert len(engine.review_lines(form, kind, answers, "vi")) == len(answers)


# --------------------------------------------------------------------------- typed commands
@pytest.mark.parametrize(
    ("text", "expected"),
    [("Bỏ qua", "skip"), ("/skip", "skip"), ("quay lại", "back"), ("Back", "back"), ("12", None)],
)
def test_navigation_command(text: str, expected: str | None) -> None:
    assert engine.navigation_command(text) == expected
