"""Filling in a report in chat, end to end over HTTP against the Bot API stand-in."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import col, select

from domain.clock import FixedClock
from domain.i18n import translator_for
from storage.models import Answer, FormSession, Report, ReportStatus, ReportVersion
from tests.conftest import ADMIN_ID, VN
from tests.forms_helpers import DISTRICT_ANSWERS, answer, current_question, fill, register
from tests.harness import BotHarness

VI = translator_for("vi")


async def _setup(harness: BotHarness, user_id: int = 1001, unit: str = "huyen-muong-te"):  # type: ignore[no-untyped-def]
    harness.services.periods.ensure_year(2023)
    focal = harness.user(user_id, f"Đầu mối {user_id}")
    register(harness, focal, unit)
    return focal


def _stored(harness: BotHarness) -> dict[str, object]:
    with harness.db.transaction() as session:
        rows = session.exec(select(Answer)).all()
        return {row.question_key: json.loads(row.value_json) for row in rows if not row.skipped}


async def test_full_six_month_report_with_buttons_and_typed_answers(harness: BotHarness) -> None:
    focal = await _setup(harness)
    admin = harness.user(ADMIN_ID, "Văn phòng")
    await admin.send("/help")  # the office has talked to the bot: it gets notices
    first = await focal.send("/report")
    assert "Báo cáo 6 tháng đầu năm 2023" in first[0].plain_text
    assert "trước ngày 05/6/2023" in first[0].plain_text
    assert first[1].plain_text.startswith("Câu 1/")
    asked = await fill(harness, focal, DISTRICT_ANSWERS)
    assert asked[:2] == ["doc_plans_issued", "doc_plans_list"]  # follow-up of a count > 0
    assert "inspection_findings" not in asked  # inspections_conducted was 0
    assert current_question(harness, focal) == "<review>"
    stored = _stored(harness)
    assert stored["staff_total"] == 1250  # "1.250"
    assert stored["budget_spent_vnd"] == 15_000_000  # "15 triệu"
    assert stored["budget_socialised_vnd"] == 2_500_000  # "2,5 triệu"
    assert stored["gbv_abuse_cases"] == 0  # "không"
    assert stored["ban_vstbpn_consolidated"] is True
    assert isinstance(stored["activity_forms"], list)
    assert len(stored["activity_forms"]) == 3  # "1, 3, 5"
    review = harness.telegram.last_message(focal.user_id)
    assert [label for row in review.buttons for label, _ in row] == ["Gửi báo cáo", "Sửa"]
    done = await focal.press("Gửi báo cáo")
    assert "Cảm ơn" in done[-1].plain_text
    notices = harness.telegram.messages_to(ADMIN_ID)
    assert "Huyện Mường Tè" in notices[-1].plain_text
    assert "đã gửi báo cáo 6 tháng đầu năm 2023" in notices[-1].plain_text
    with harness.db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.status == ReportStatus.SUBMITTED
        version = session.exec(select(ReportVersion)).one()
        assert version.late is False
        assert json.loads(version.answers_json)["comm_participants_female"] == 1900
    assert harness.telegram.bad_requests == []


async def test_invalid_answers_are_explained_and_nothing_is_lost(harness: BotHarness) -> None:
    focal = await _setup(harness)
    await focal.send("/report")
    await focal.send("3")
    await focal.send("KH số 1")
    replies = await focal.send("mấy cái")  # not yes/no
    assert "có hoặc không" in replies[0].plain_text
    assert current_question(harness, focal) == "ban_vstbpn_consolidated"
    assert _stored(harness) == {"doc_plans_issued": 3, "doc_plans_list": "KH số 1"}
    await focal.send("có")
    await focal.send("không")
    await focal.send("2")  # ban_meetings
    await focal.send("100")  # staff_total
    replies = await focal.send("150")  # staff_female > staff_total: an error
    assert "không" in replies[0].plain_text.lower()
    assert current_question(harness, focal) == "staff_female"
    replies = await focal.send("-3")
    assert "âm" in replies[0].plain_text
    await focal.send("60")
    assert current_question(harness, focal) == "leaders_total"


async def test_soft_bound_asks_to_confirm(harness: BotHarness) -> None:
    focal = await _setup(harness)
    await focal.send("/report")
    replies = await focal.send("150")  # doc_plans_issued: soft max 100
    assert "cao hơn bình thường" in replies[-1].plain_text
    assert current_question(harness, focal) == "<confirm>"
    await focal.press("Không, nhập lại")
    assert current_question(harness, focal) == "doc_plans_issued"
    await focal.send("150")
    await focal.press("Có, giữ nguyên")
    assert _stored(harness)["doc_plans_issued"] == 150
    assert current_question(harness, focal) == "doc_plans_list"


async def test_back_and_skip(harness: BotHarness) -> None:
    focal = await _setup(harness)
    await focal.send("/report")
    await focal.send("0")  # no follow-up list
    assert current_question(harness, focal) == "ban_vstbpn_consolidated"
    await focal.press("« Quay lại")
    assert current_question(harness, focal) == "doc_plans_issued"
    shown = harness.telegram.last_message(focal.user_id).plain_text
    assert "Câu trả lời hiện tại: 0" in shown
    await focal.send("2")
    assert current_question(harness, focal) == "doc_plans_list"  # the follow-up appears now
    for text in ("Danh sách", "có", "có", "1"):
        await focal.send(text)
    assert current_question(harness, focal) == "staff_total"
    await focal.press("« Quay lại")
    assert current_question(harness, focal) == "ban_meetings"
    await focal.press("Bỏ qua »")
    assert current_question(harness, focal) == "staff_total"
    assert "ban_meetings" not in _stored(harness)


async def test_resume_after_restart_mid_form(harness: BotHarness) -> None:
    focal = await _setup(harness)
    await focal.send("/report")
    await focal.send("1")
    await focal.send("KH số 5")
    await harness.restart()
    replies = await focal.send("/report")
    assert "làm tiếp" in replies[0].plain_text
    assert current_question(harness, focal) == "ban_vstbpn_consolidated"
    await focal.send("có")
    assert current_question(harness, focal) == "gender_mainstreamed"
    # the session itself survives a restart too: a typed answer goes on without /report
    await harness.restart()
    await focal.send("không")
    assert _stored(harness)["gender_mainstreamed"] is False


async def test_review_edit_then_submit_amend_and_refusal_after_deadline(
    harness: BotHarness, clock: FixedClock
) -> None:
    focal = await _setup(harness)
    await focal.send("/report")
    await fill(harness, focal, DISTRICT_ANSWERS)
    await focal.press("Sửa")
    menu = harness.telegram.last_message(focal.user_id)
    assert "Anh/chị muốn sửa câu nào" in menu.plain_text
    await focal.send("1")  # doc_plans_issued
    assert current_question(harness, focal) == "doc_plans_issued"
    await focal.send("0")  # the follow-up list is no longer asked
    assert current_question(harness, focal) == "<review>"
    review = harness.telegram.last_message(focal.user_id).plain_text
    assert "KH 12" not in review
    await focal.press("Gửi báo cáo")
    replies = await focal.send("/report")
    assert "bản 1" in replies[0].plain_text
    await focal.press("Sửa báo cáo")
    assert current_question(harness, focal) == "<review>"
    await focal.press("Sửa")
    await focal.send("1")
    await focal.send("4")
    await focal.send("KH mới")
    await focal.press("Gửi báo cáo đã sửa")
    with harness.db.transaction() as session:
        versions = session.exec(select(ReportVersion).order_by(col(ReportVersion.version))).all()
        assert [v.version for v in versions] == [1, 2]
        assert json.loads(versions[0].answers_json)["doc_plans_issued"] == 0
        assert json.loads(versions[1].answers_json)["doc_plans_issued"] == 4
    clock.set(datetime(2023, 6, 5, 0, 0, tzinfo=VN))
    replies = await focal.send("/report")
    assert "Đã quá hạn nộp" in replies[0].plain_text
    assert replies[0].buttons == []
    admin = harness.user(ADMIN_ID, "Admin")
    await admin.send("/reopen huyen-muong-te six_month:2023 3")
    replies = await focal.send("/report")
    assert [label for row in replies[0].buttons for label, _ in row] == ["Sửa báo cáo"]


async def test_two_focal_points_share_one_draft(harness: BotHarness) -> None:
    first = await _setup(harness, 1001)
    second = harness.user(1002, "Phó")
    register(harness, second, "huyen-muong-te")
    await first.send("/report")
    await first.send("2")
    await second.send("/report")
    assert current_question(harness, second) == "doc_plans_list"
    await second.send("KH số 7")
    assert current_question(harness, second) == "ban_vstbpn_consolidated"
    with harness.db.transaction() as session:
        by = {a.question_key: a.answered_by_account_id for a in session.exec(select(Answer))}
    assert by["doc_plans_issued"] != by["doc_plans_list"]
    replies = await first.send("/report")  # resumes at the first open question
    assert current_question(harness, first) == "ban_vstbpn_consolidated"
    assert replies


async def test_stale_and_forged_buttons_change_nothing(harness: BotHarness) -> None:
    focal = await _setup(harness)
    await focal.send("/report")
    await focal.send("0")
    yes_no = harness.telegram.last_message(focal.user_id)
    await focal.press("Có")
    assert current_question(harness, focal) == "gender_mainstreamed"
    before = _stored(harness)
    await focal.press("Không", yes_no)  # the old question's button
    assert _stored(harness) == before
    alert = harness.telegram.answered_callbacks[-1]
    assert "câu hỏi trước" in alert["text"]
    # another unit's focal point forging this chat's button data gets nothing
    other = await _setup(harness, 2002, "so-y-te")
    await other.send("/report")  # its own form, its own step numbers
    own = harness.telegram.last_message(other.user_id)
    step = int(yes_no.buttons[0][0][1].split("|")[0])
    await other.press_data(own.message_id, f"{step}|o:yes")
    await other.press_data(own.message_id, "1|submit")
    await other.press_data(own.message_id, "-1|amend")
    assert _stored(harness) == before
    assert harness.telegram.bad_requests == []


async def test_multi_choice_with_buttons(harness: BotHarness) -> None:
    focal = await _setup(harness)
    answers = dict(DISTRICT_ANSWERS)
    await focal.send("/report")
    for _ in range(60):
        key = current_question(harness, focal)
        if key == "activity_forms" or key is None:
            break
        await answer(focal, answers[key])
    prompt = harness.telegram.last_message(focal.user_id)
    labels = [label for row in prompt.buttons for label, _ in row]
    await focal.press(labels[0])
    redrawn = harness.telegram.last_message(focal.user_id)
    assert redrawn.message_id == prompt.message_id  # edited in place
    assert any(label.startswith("✓ ") for row in redrawn.buttons for label, _ in row)
    await focal.press(labels[2])
    await focal.press("Xong ✔")
    assert current_question(harness, focal) == "training_courses"
    assert len(_stored(harness)["activity_forms"]) == 2  # type: ignore[arg-type]


async def test_cancel_keeps_the_draft(harness: BotHarness) -> None:
    focal = await _setup(harness)
    await focal.send("/report")
    await focal.send("0")
    replies = await focal.send("/cancel")
    assert "vẫn được lưu" in replies[0].plain_text
    with harness.db.transaction() as session:
        assert session.exec(select(FormSession)).all() == []
    assert (await focal.send("1"))[0].plain_text.startswith("Xin lỗi, tôi chưa hiểu")
    await focal.send("/report")
    assert current_question(harness, focal) == "ban_vstbpn_consolidated"


async def test_late_submission_is_marked(harness: BotHarness, clock: FixedClock) -> None:
    focal = await _setup(harness)
    clock.set(datetime(2023, 6, 6, 9, 0, tzinfo=VN))
    await focal.send("/report")
    await fill(harness, focal, DISTRICT_ANSWERS)
    replies = await focal.press("Gửi báo cáo")
    assert "nộp chậm" in replies[-1].plain_text
    clock.advance(timedelta(days=1))
    replies = await focal.send("/report")
    assert "Đã quá hạn nộp" in replies[0].plain_text


async def test_long_review_is_split_within_telegram_limits(harness: BotHarness) -> None:
    focal = await _setup(harness)
    long_text = "Địa bàn rộng <khó> & xa; " * 110  # ~2,800 characters with HTML specials
    answers = {
        **DISTRICT_ANSWERS,
        "difficulties": long_text,
        "recommendations": long_text,
        "achievements": long_text,
        "support_forms": long_text,
    }
    await focal.send("/report")
    await fill(harness, focal, answers)
    review = [m for m in harness.telegram.messages_to(focal.user_id)][-4:]
    texts = [m.plain_text for m in review]
    assert sum("Địa bàn rộng <khó> & xa;" in text for text in texts) >= 3
    assert all(len(text.encode("utf-16-le")) // 2 <= 4096 for text in texts)
    assert review[-1].buttons  # the actions come with the last part
    assert harness.telegram.bad_requests == []
    await focal.press("Gửi báo cáo")
    with harness.db.transaction() as session:
        version = session.exec(select(ReportVersion)).one()
        assert json.loads(version.answers_json)["difficulties"] == long_text.strip()


async def test_typed_back_on_the_first_question_gets_a_chat_reply(harness: BotHarness) -> None:
    """A pop-up answers a press; a typed word has no pop-up, so the notice is a message."""
    focal = await _setup(harness)
    await focal.send("/report")
    first = current_question(harness, focal)
    replies = await focal.send("quay lại")
    assert [m.plain_text for m in replies] == [VI("This is the first question.")]
    assert current_question(harness, focal) == first
