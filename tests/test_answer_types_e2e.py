"""Every answer type, valid and invalid, through the chat (a deployment's own form)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from domain.clock import FixedClock
from standin.telegram import FakeTelegram
from storage.models import Answer
from tests.forms_helpers import current_question, register
from tests.harness import BotHarness, make_settings

FORM = """
key: six_month
version: 3
title_vi: "Biểu thử mọi loại câu hỏi"
title_en: "Every question type"
questions:
  - key: sessions
    type: integer
    text_vi: "Số buổi?"
    text_en: "Sessions?"
    label_vi: "Số buổi"
    label_en: "Sessions"
    max: 500
    soft_max: 100
  - key: participants
    type: integer
    text_vi: "Tổng số người dự?"
    text_en: "Participants?"
    label_vi: "Người dự"
    label_en: "Participants"
    ask_if: "sessions > 0"
  - key: women
    type: integer
    text_vi: "Trong đó nữ?"
    text_en: "Women?"
    label_vi: "Nữ"
    label_en: "Women"
    ask_if: "participants > 0"
    checks:
      - expr: "value <= participants"
        severity: error
        message_vi: "Số nữ không được lớn hơn tổng số người dự."
        message_en: "Women cannot exceed participants."
      - expr: "value >= participants / 10"
        severity: warn
        message_vi: "Tỷ lệ nữ thấp bất thường."
        message_en: "Unusually few women."
  - key: hours
    type: decimal
    text_vi: "Số giờ trung bình mỗi buổi?"
    text_en: "Average hours per session?"
    label_vi: "Giờ mỗi buổi"
    label_en: "Hours per session"
    max: 24
  - key: coverage
    type: percentage
    text_vi: "Tỷ lệ xã được phủ sóng?"
    text_en: "Share of communes covered?"
    label_vi: "Tỷ lệ xã"
    label_en: "Communes covered"
  - key: plan_issued
    type: yes_no
    text_vi: "Có kế hoạch không?"
    text_en: "Is there a plan?"
    label_vi: "Có kế hoạch"
    label_en: "Plan issued"
  - key: level
    type: choice
    text_vi: "Cấp tổ chức?"
    text_en: "Level?"
    label_vi: "Cấp"
    label_en: "Level"
    choices:
      - {key: tinh, vi: "Cấp tỉnh", en: "Province"}
      - {key: huyen, vi: "Cấp huyện", en: "District"}
      - {key: xa, vi: "Cấp xã", en: "Commune"}
  - key: channels
    type: multi_choice
    text_vi: "Kênh truyền thông?"
    text_en: "Channels?"
    label_vi: "Kênh"
    label_en: "Channels"
    choices:
      - {key: loa, vi: "Loa truyền thanh", en: "Loudspeakers"}
      - {key: bao, vi: "Báo, đài", en: "Press"}
      - {key: zalo, vi: "Mạng xã hội", en: "Social media"}
  - key: contact
    type: short_text
    text_vi: "Người liên hệ?"
    text_en: "Contact?"
    label_vi: "Liên hệ"
    label_en: "Contact"
    max_length: 30
  - key: notes
    type: long_text
    required: false
    text_vi: "Ghi chú?"
    text_en: "Notes?"
    label_vi: "Ghi chú"
    label_en: "Notes"
    min_length: 10
  - key: launch
    type: date
    text_vi: "Ngày phát động?"
    text_en: "Launch date?"
    label_vi: "Ngày phát động"
    label_en: "Launch date"
    allow_none: true
"""


@pytest.fixture
async def custom_harness(tmp_path: Path, clock: FixedClock, telegram: FakeTelegram):  # type: ignore[no-untyped-def]
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "six_month.yaml").write_text(FORM, encoding="utf-8")
    settings = make_settings(
        tmp_path, TELEGRAM_API_BASE_URL=telegram.base_url, BOT_FORMS_DIR=str(forms)
    )
    bot = BotHarness(settings, clock, telegram)
    bot.services.units.ensure_default_catalogue()
    bot.services.periods.ensure_year(2023)
    await bot.start()
    yield bot
    await bot.stop()
    bot.db.engine.dispose()


def _answers(harness: BotHarness) -> dict[str, object]:
    with harness.db.transaction() as session:
        return {a.question_key: json.loads(a.value_json) for a in session.exec(select(Answer))}


# (question, invalid input, what the reply says, valid input, stored value)
STEPS = [
    ("sessions", "nhiều", "nhập một số", "1.200", None),  # 1.200 > max 500: refused below
    ("sessions", "600", "không được lớn hơn 500", "12", 12),
    ("participants", "-5", "không được âm", "1.200", 1200),
    ("women", "1.300", "không được lớn hơn tổng số người dự", "850", 850),
    ("hours", "abc", "nhập một số", "2,5", 2.5),
    ("coverage", "120%", "100", "45%", 45),
    ("plan_issued", "có lẽ", "có hoặc không", "khong", False),
    ("level", "7", "Không có lựa chọn số 7", "cap huyen", "huyen"),
    ("channels", "9", "Không có lựa chọn số 9", "1, 3", ["loa", "zalo"]),
    ("contact", "x" * 40, "dài quá", "Lò Thị Mai 0912345678", "Lò Thị Mai 0912345678"),
    ("notes", "ngắn", "ngắn quá", "Ghi chú đủ dài để nhận", "Ghi chú đủ dài để nhận"),
    ("launch", "31/2/2023", "Không có ngày", "5/6/2023", "2023-06-05"),
]


async def test_every_type_valid_and_invalid(custom_harness: BotHarness) -> None:
    harness = custom_harness
    focal = harness.user(1001, "Mai")
    register(harness, focal, "huyen-muong-te")
    first = await focal.send("/report")
    assert "Câu 1/" in first[-1].plain_text
    for key, bad, complaint, good, stored in STEPS:
        assert current_question(harness, focal) == key
        replies = await focal.send(bad)
        assert complaint in replies[0].plain_text, (key, replies[0].plain_text)
        assert current_question(harness, focal) == key  # asked again, nothing lost
        if stored is None:
            continue
        await focal.send(good)
        if current_question(harness, focal) == "<confirm>":
            await focal.press("Có, giữ nguyên")
        assert _answers(harness)[key] == stored, key
    assert current_question(harness, focal) == "<review>"
    assert harness.telegram.bad_requests == []


async def test_warning_rule_asks_to_confirm_and_none_date(custom_harness: BotHarness) -> None:
    harness = custom_harness
    focal = harness.user(1001, "Mai")
    register(harness, focal, "huyen-muong-te")
    await focal.send("/report")
    for text in ("10", "1000"):
        await focal.send(text)
    replies = await focal.send("50")  # fewer than a tenth of participants: a warning
    assert "Tỷ lệ nữ thấp bất thường" in replies[-1].plain_text
    await focal.press("Có, giữ nguyên")
    assert _answers(harness)["women"] == 50
    for text in ("2", "40", "có", "1", "2", "Mai"):
        await focal.send(text)
    await focal.press("Bỏ qua »")
    assert current_question(harness, focal) == "launch"
    await focal.press("Không có")
    assert _answers(harness)["launch"] is None
    assert current_question(harness, focal) == "<review>"


async def test_no_sessions_skips_the_follow_ups(custom_harness: BotHarness) -> None:
    harness = custom_harness
    focal = harness.user(1001, "Mai")
    register(harness, focal, "huyen-muong-te")
    await focal.send("/report")
    await focal.send("không")
    assert current_question(harness, focal) == "hours"
