"""The thin Zalo client against the stand-in: idle polls, long texts, errors without the token."""

from __future__ import annotations

import logging
import time

import pytest

from bot.logging_setup import RedactingFilter
from standin.zalo import FakeZalo
from tests.zalo.conftest import ZALO_TOKEN
from zalo.client import ZaloClient, ZaloError, ZaloNetworkError
from zalo.text import split_text, text_len


async def test_idle_poll_is_no_update_and_one_update_per_call(zalo: FakeZalo) -> None:
    async with ZaloClient(ZALO_TOKEN, base_url=zalo.url) as client:
        started = time.monotonic()
        assert await client.get_updates(timeout=1) == []  # HTTP 408: nothing new
        assert 0.9 <= time.monotonic() - started < 5
        zalo.inject_text("1", "một")
        zalo.inject_text("1", "hai")
        first = await client.get_updates(timeout=1)
        second = await client.get_updates(timeout=1)
        assert [u["message"]["text"] for u in first + second] == ["một", "hai"]
        assert first[0]["event_name"] == "message.text.received"
        assert (await client.get_me())["account_name"] == "bot.vstbpn"
    assert zalo.bad_requests == []


async def test_long_text_is_split_at_line_breaks(zalo: FakeZalo) -> None:
    zalo.add_user("42", "Lan")
    lines = [f"{n}. Đơn vị đã tổ chức tuyên truyền, phổ biến pháp luật 🙂" for n in range(1, 120)]
    async with ZaloClient(ZALO_TOKEN, base_url=zalo.url) as client:
        ids = await client.send_message("42", "\n".join(lines))
        assert len(ids) == len(zalo.sent) >= 3
    assert all(text_len(m.text) <= 2000 for m in zalo.sent)
    assert "\n".join(m.text for m in zalo.sent) == "\n".join(lines)  # nothing lost, no line cut
    assert zalo.bad_requests == []


async def test_errors_carry_status_never_the_token(
    zalo: FakeZalo, caplog: pytest.LogCaptureFixture
) -> None:
    async with ZaloClient(ZALO_TOKEN, base_url=zalo.url) as client:
        with pytest.raises(ZaloError) as refused:
            await client.send_message("unknown-chat", "xin chào")
        assert refused.value.status == 400 and not refused.value.retryable
        with pytest.raises(ValueError, match="empty"):
            await client.send_message("42", "  ")
    async with ZaloClient("1:wrong-token", base_url=zalo.url) as client:
        with pytest.raises(ZaloError) as unauthorized:
            await client.get_me()
        assert unauthorized.value.status == 401
    async with ZaloClient(ZALO_TOKEN, base_url="http://127.0.0.1:9", timeout=2) as client:
        with pytest.raises(ZaloNetworkError) as unreachable:
            await client.get_me()
        assert unreachable.value.retryable
        assert ZALO_TOKEN not in str(unreachable.value)
        assert unreachable.value.__cause__ is None and unreachable.value.__suppress_context__


def test_log_lines_are_redacted() -> None:
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "POST %s", (f"https://x/bot{ZALO_TOKEN}/getMe",), None
    )
    RedactingFilter([ZALO_TOKEN]).filter(record)
    assert ZALO_TOKEN not in record.getMessage()


def test_split_text_keeps_every_character() -> None:
    text = "a" * 4500 + "\nb\n" + "c" * 10
    parts = split_text(text, 2000)
    assert all(text_len(part) <= 2000 for part in parts)
    assert "".join(part.replace("\n", "") for part in parts) == text.replace("\n", "")
    assert split_text("") == [""]


async def test_router_leaves_messages_of_a_disabled_channel_for_later() -> None:
    from domain.channels import ChannelRouter
    from domain.conversation import Reply
    from domain.reminders import DeliveryStatus, Recipient

    router = ChannelRouter({})
    delivery = await router.send(Recipient(1, "zalo", "42", "vi"), Reply("x"))
    assert delivery.status is DeliveryStatus.RETRY
    assert router.channels == frozenset()
