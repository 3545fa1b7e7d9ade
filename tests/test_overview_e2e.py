"""/status numbers match the database and the chart is a PNG; /units and /audit for the office."""

from __future__ import annotations

import struct
from datetime import datetime

from domain.clock import FixedClock
from tests.conftest import ADMIN_ID, VN
from tests.forms_helpers import DISTRICT_ANSWERS, fill, register
from tests.harness import BotHarness


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_status_counts_and_chart(harness: BotHarness, clock: FixedClock) -> None:
    harness.services.periods.ensure_year(2023)
    clock.set(datetime(2023, 5, 20, 9, 0, tzinfo=VN))
    on_time = harness.user(1001, "A")
    register(harness, on_time, "huyen-muong-te")
    await on_time.send("/report")
    await fill(harness, on_time, DISTRICT_ANSWERS)
    await on_time.press("Gửi báo cáo")
    drafting = harness.user(1002, "B")
    register(harness, drafting, "so-y-te")
    await drafting.send("/report")
    await drafting.send("2")
    clock.set(datetime(2023, 6, 6, 9, 0, tzinfo=VN))
    late = harness.user(1003, "C")
    register(harness, late, "huyen-sin-ho")
    await late.send("/report")
    await fill(harness, late, DISTRICT_ANSWERS)
    await late.press("Gửi báo cáo")

    admin = harness.user(ADMIN_ID, "Văn phòng")
    replies = await admin.send("/status six_month:2023")
    text = "\n".join(m.plain_text for m in replies if m.method == "sendMessage")
    assert "Huyện, thành phố: Đúng hạn 1, Chậm 1, Đang làm 0, Chưa bắt đầu 6" in text
    assert "Sở, ban, ngành: Đúng hạn 0, Chậm 0, Đang làm 1, Chưa bắt đầu 19" in text
    assert "Tất cả đơn vị: Đúng hạn 1, Chậm 1, Đang làm 1, Chưa bắt đầu 31" in text
    assert "Còn thiếu (32)" in text
    assert "Sở Y tế (so-y-te) — Đang làm" in text
    assert "huyen-muong-te" not in text.split("Còn thiếu")[1]
    chart = replies[-1]
    assert chart.method == "sendPhoto"
    assert chart.file_bytes is not None
    width, height = _png_size(chart.file_bytes)
    assert width >= 600
    assert height >= 400
    assert harness.telegram.bad_requests == []


async def test_units_and_audit(harness: BotHarness) -> None:
    admin = harness.user(ADMIN_ID, "Văn phòng")
    await admin.send("/invite so-y-te")
    focal = harness.user(1001, "Bác sĩ <Lan>")  # a name with HTML specials
    register(harness, focal, "so-y-te")
    await focal.send("/help")
    harness.telegram.block_user(1001, notify=False)
    harness.services.accounts.mark_unreachable("telegram", "1001")
    replies = await admin.send("/units department")
    text = "\n".join(m.plain_text for m in replies)
    assert "Sở Y tế so-y-te: Bác sĩ <Lan> (telegram, hoạt động lần cuối" in text
    assert "không liên lạc được" in text
    assert "Sở Tư pháp so-tu-phap: chưa có đầu mối — /invite so-tu-phap" in text
    assert "20 đơn vị, 19 đơn vị chưa có đầu mối." in text
    audit = "\n".join(m.plain_text for m in await admin.send("/audit 5"))
    assert "telegram:1: invite.create so-y-te" in audit
    assert "focal_point.register so-y-te" in audit
    refused = await focal.send("/status")
    assert refused == []  # blocked: nothing can reach them; and the stand-in counts no error
    harness.telegram.unblock_user(1001, notify=False)
    refused = await focal.send("/status")
    assert "chỉ dành cho cơ quan thường trực" in refused[0].plain_text
    assert harness.telegram.bad_requests == []
