"""A whole report on Zalo: numbered options, typed answers without accents, words for the
buttons, a restart in the middle, the review and the office's notice."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import select

from domain.clock import FixedClock
from domain.i18n import translator_for
from storage.models import ReportVersion
from tests.conftest import ADMIN_ID, VN
from tests.forms_helpers import DISTRICT_ANSWERS
from tests.zalo.conftest import ZaloBot, ZaloUser

VI = translator_for("vi")
# Zalo's own texts, as the Vietnamese catalogue has them (or, until translated, in English).
BY_NUMBER = VI("reply with the number")
BACK_HINT = VI("Type “back” to go to the previous question.")
SKIP_HINT = VI("Type “skip” to skip this question.")
REVIEW_MENU = f"1. Gửi báo cáo  2. Sửa — {BY_NUMBER}"
# The Telegram answers, typed: a number for a button, or its label without accents.
TYPED: dict[str, str] = {
    **{key: value for key, value in DISTRICT_ANSWERS.items() if isinstance(value, str)},
    "ban_vstbpn_consolidated": "1",  # "1. Có  2. Không"
    "gender_mainstreamed": "co",
    "has_female_key_leader": "Co",
    "female_cadres_trained": "bo qua",
    "activity_forms": "1, 3, 5",
    "gbv_abuse_cases": "khong",
    "achievements": "Bỏ qua",
    "next_period_tasks": "bo qua",
    "difficulties": "Dia ban rong, giao thong kho khan",
}


async def _fill(bot: ZaloBot, user: ZaloUser, stop_after: int | None = None) -> list[str]:
    asked: list[str] = []
    for _ in range(200):
        key = bot.current_question(user)
        if key is None or key.startswith("<") or (stop_after and len(asked) == stop_after):
            return asked
        asked.append(key)
        replies = await user.send(TYPED[key])
        assert replies, f"no reply after answering {key}"
        if bot.current_question(user) == "<confirm>":
            assert "1. Có, giữ nguyên" in replies[-1] and BY_NUMBER in replies[-1]
            await user.send("1")
    raise AssertionError("form did not end")


async def test_full_report_typed_on_zalo_with_a_restart(
    zalo_bot: ZaloBot, clock: FixedClock
) -> None:
    clock.set(datetime(2023, 5, 16, 9, 0, tzinfo=VN))
    zalo_bot.services.periods.ensure_year(2023)
    admin = zalo_bot.telegram.user(ADMIN_ID, "Văn phòng")
    await admin.send("/help")  # the office has talked to the bot: it gets notices
    focal = zalo_bot.user("7001", "Lò Thị Mai")
    zalo_bot.register(focal, "huyen-muong-te")

    first = await focal.send("/report")
    assert "Báo cáo 6 tháng đầu năm 2023" in first[0]
    assert first[1].startswith("Câu 1/")
    assert BACK_HINT not in first[1] and SKIP_HINT not in first[1]  # required, and the first
    asked = await _fill(zalo_bot, focal, stop_after=3)
    assert asked == ["doc_plans_issued", "doc_plans_list", "ban_vstbpn_consolidated"]
    question = focal.inbox()[-1]
    assert f"1. Có  2. Không — {BY_NUMBER}" in question
    assert BACK_HINT in question

    await zalo_bot.restart()  # the process restarts mid-form: the next answer just goes on
    resumed = await focal.send(TYPED["gender_mainstreamed"])
    assert resumed[-1].startswith("Câu 5/")
    back = await focal.send("quay lai")
    assert back[-1].startswith("Câu 4/") and "Có" in back[-1]
    await focal.send("co")
    asked += await _fill(zalo_bot, focal)
    assert "activity_forms" in asked

    review = focal.inbox()[-1]
    assert review.endswith(REVIEW_MENU)
    edit = await focal.send("sua")  # the label, without accents
    assert edit[0].count("\n1. ") == 1 and "\n3. " in edit[0]  # the questions, numbered
    assert VI("Type “back” to return to the review.") in edit[0]
    back_to_review = await focal.send("quay lại")
    assert back_to_review[-1].endswith(REVIEW_MENU)
    done = await focal.send("1")
    assert "Cảm ơn" in done[-1]

    notice = zalo_bot.telegram.telegram.messages_to(ADMIN_ID)[-1].plain_text
    assert "Huyện Mường Tè" in notice and "Lò Thị Mai" in notice
    with zalo_bot.db.transaction() as session:
        answers = json.loads(session.exec(select(ReportVersion)).one().answers_json)
    assert answers["ban_vstbpn_consolidated"] is True
    assert answers["gender_mainstreamed"] is True
    assert answers["staff_total"] == 1250
    assert answers["activity_forms"] == ["le_phat_dong", "tap_huan", "bang_ron_pano"]
    assert answers["gbv_abuse_cases"] == 0
    assert answers["budget_spent_vnd"] == 15_000_000
    assert "female_cadres_trained" not in answers
    assert zalo_bot.zalo.bad_requests == []
    assert all(len(m.text) <= 2000 for m in zalo_bot.zalo.sent)


async def test_a_number_typed_on_an_open_question_is_its_answer(
    zalo_bot: ZaloBot, clock: FixedClock
) -> None:
    """A reminder's "1. Mở báo cáo" arriving mid-form does not turn an answer into a press."""
    clock.set(datetime(2023, 5, 15, 7, 0, tzinfo=VN))
    zalo_bot.services.periods.ensure_year(2023)
    focal = zalo_bot.user("7002", "Hà")
    zalo_bot.register(focal, "huyen-muong-te")
    await focal.send("/report")
    assert zalo_bot.current_question(focal) == "doc_plans_issued"
    clock.set(datetime(2023, 5, 15, 8, 0, tzinfo=VN))
    await zalo_bot.run_reminders()
    assert f"1. Mở báo cáo — {BY_NUMBER}" in focal.inbox()[-1]
    replies = await focal.send("1")
    assert zalo_bot.current_question(focal) == "doc_plans_list"  # 1 plan issued: its follow-up
    assert replies[-1].startswith("Câu 2/")


async def test_long_review_is_split_within_zalo_limit(zalo_bot: ZaloBot, clock: FixedClock) -> None:
    clock.set(datetime(2023, 5, 16, 9, 0, tzinfo=VN))
    zalo_bot.services.periods.ensure_year(2023)
    focal = zalo_bot.user("7003", "Thảo")
    zalo_bot.register(focal, "huyen-muong-te")
    await focal.send("/report")
    long_text = "Khó khăn: " + "địa bàn rộng, giao thông khó khăn; " * 80
    typed = {**TYPED, "difficulties": long_text[:2900], "recommendations": long_text[:2900]}
    for _ in range(200):
        key = zalo_bot.current_question(focal)
        if key is None or key.startswith("<"):
            break
        await focal.send(typed[key])
        if zalo_bot.current_question(focal) == "<confirm>":
            await focal.send("1")
    assert zalo_bot.current_question(focal) == "<review>"
    sent = zalo_bot.zalo.messages_to("7003")
    assert all(len(m.text) <= 2000 for m in sent)
    assert zalo_bot.zalo.bad_requests == []
    assert sent[-1].text.endswith(REVIEW_MENU)
    assert len(sent[-1].text) < 2000 and "Câu 1" not in sent[-1].text
