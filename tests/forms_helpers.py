"""Helpers for driving a report conversation in end-to-end tests."""

from __future__ import annotations

import re

from sqlmodel import select

from domain.registration import RegistrationService
from standin.telegram import SentMessage
from storage.models import FormSession
from tests.harness import BotHarness, ChatUser

LINK = re.compile(r"start=([A-Za-z0-9_-]+)")

# A plausible 6-month report of a district, keyed by question: typed text or ("press", label).
DISTRICT_ANSWERS: dict[str, object] = {
    "doc_plans_issued": "3",
    "doc_plans_list": "KH 12/KH-UBND ngày 10/2/2023 về BĐG",
    "ban_vstbpn_consolidated": ("press", "Có"),
    "gender_mainstreamed": "có",
    "ban_meetings": "2",
    "staff_total": "1.250",
    "staff_female": "640",
    "leaders_total": "120",
    "leaders_female": "35",
    "has_female_key_leader": ("press", "Có"),
    "female_key_leader_titles": "Phó Chủ tịch UBND huyện",
    "female_cadres_trained": ("press", "Bỏ qua »"),
    "comm_sessions": "45",
    "comm_participants_total": "3.200",
    "comm_participants_female": "1.900",
    "comm_media_items": "12",
    "comm_materials": "300",
    "activity_forms": "1, 3, 5",
    "training_courses": "4",
    "training_trainees_total": "160",
    "training_trainees_female": "90",
    "inspections_conducted": "0",
    "dv_cases_detected": "7",
    "dv_cases_handled": "6",
    "gbv_abuse_cases": "không",
    "trafficking_cases": "2",
    "trafficking_victims_received": "1",
    "victims_supported": "9",
    "support_forms": "Tư vấn, hỗ trợ pháp lý",
    "child_marriage_cases": "5",
    "models_clubs_active": "14",
    "models_new": "2",
    "budget_spent_vnd": "15 triệu",
    "budget_socialised_vnd": "2,5 triệu",
    "achievements": ("press", "Bỏ qua »"),
    "difficulties": "Địa bàn rộng, giao thông khó khăn, thiếu kinh phí",
    "next_period_tasks": ("press", "Bỏ qua »"),
    "recommendations": "Đề nghị tỉnh bố trí thêm kinh phí tập huấn",
    "reporter_contact": "Lò Thị Mai, chuyên viên, 0912 345 678",
}

# The same answers, all typed (for channels and tests without buttons).
TYPED_ANSWERS: dict[str, object] = {
    key: ("bỏ qua" if value[1].startswith("Bỏ qua") else value[1].lower())
    if isinstance(value, tuple)
    else value
    for key, value in DISTRICT_ANSWERS.items()
}


def register(harness: BotHarness, user: ChatUser, unit_code: str) -> None:
    """Register ``user`` as a focal point of ``unit_code`` (the invite flow has its own tests)."""
    registration = RegistrationService(
        harness.db, harness.clock, invite_ttl=harness.settings.invite_ttl
    )
    issued = registration.create_invite(unit_code, actor="test")
    from domain.identity import ChannelIdentity

    registration.register(
        ChannelIdentity("telegram", str(user.user_id), str(user.user_id), user.name), issued.code
    )


def form_position(active: FormSession) -> str:
    """Where a form is: its question's key, or ``<review>``, ``<confirm>``…"""
    return (active.question_key or "") if active.mode == "question" else f"<{active.mode}>"


def current_question(harness: BotHarness, user: ChatUser) -> str | None:
    with harness.db.transaction() as session:
        active = session.exec(
            select(FormSession).where(FormSession.chat_id == str(user.user_id))
        ).first()
        return None if active is None else form_position(active)


async def answer(user: ChatUser, reply: object) -> list[SentMessage]:
    if isinstance(reply, tuple):
        return await user.press(str(reply[1]))
    return await user.send(str(reply))


async def fill(harness: BotHarness, user: ChatUser, answers: dict[str, object]) -> list[str]:
    """Answer questions until the review; return the keys asked, in order."""
    asked: list[str] = []
    for _ in range(200):
        key = current_question(harness, user)
        if key is None or key.startswith("<"):
            return asked
        asked.append(key)
        replies = await answer(user, answers[key])
        assert replies, f"no reply after answering {key}"
        if current_question(harness, user) == "<confirm>":
            await user.press("Có, giữ nguyên")
    raise AssertionError("form did not end")
