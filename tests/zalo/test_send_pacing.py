"""Sends on one Zalo token are paced, and 429 / 5xx answers are waited out and tried again."""

from __future__ import annotations

import pytest

from domain.conversation import Reply
from domain.reminders import DeliveryStatus, Recipient
from standin.zalo import FakeZalo
from tests.zalo.conftest import ZALO_TOKEN, ZaloBot
from zalo.client import RetryPolicy, SendPacer, ZaloClient, ZaloError


class VirtualTime:
    """monotonic() and sleep() for a pacer, so pacing is measured without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def _client(zalo: FakeZalo, time: VirtualTime, rate: float = 5) -> ZaloClient:
    pacer = SendPacer(rate, monotonic=time.monotonic, sleep=time.sleep)
    return ZaloClient(ZALO_TOKEN, base_url=zalo.url, pacer=pacer, sleep=time.sleep)


async def test_sends_keep_the_configured_pace(zalo: FakeZalo) -> None:
    zalo.add_user("42", "Lan")
    time = VirtualTime()
    async with _client(zalo, time, rate=5) as client:
        for n in range(15):
            await client.send_message("42", f"tin {n}")
        await client.get_me()  # not a send: never paced
    assert len(zalo.sent) == 15
    # A second's worth (5) goes at once, then one every 0.2 s: 15 messages in 2 s.
    assert time.now == pytest.approx(2.0)
    assert all(pause == pytest.approx(0.2) for pause in time.sleeps)


async def test_429_waits_retry_after_then_sends_once(zalo: FakeZalo) -> None:
    zalo.add_user("42", "Lan")
    zalo.inject_fault("sendMessage", status=429, retry_after=3, times=2)
    time = VirtualTime()
    async with _client(zalo, time) as client:
        ids = await client.send_message("42", "xin chào")
    assert len(ids) == 1 and [m.text for m in zalo.sent] == ["xin chào"]
    assert [status for _, status, _ in zalo.faults] == [429, 429]
    assert time.sleeps == [3.0, 3.0]  # Retry-After, not our own backoff
    assert zalo.bad_requests == []


async def test_a_429_holds_every_send_of_the_token(zalo: FakeZalo) -> None:
    zalo.add_user("42", "Lan")
    zalo.add_user("43", "Mai")
    zalo.inject_fault("sendMessage", status=429, retry_after=2, times=1)
    time = VirtualTime()
    async with _client(zalo, time) as client:
        await client.send_message("42", "một")
        await client.send_message("43", "hai")  # another chat waits its turn, not sooner
    assert time.now >= 2.0 and [m.chat_id for m in zalo.sent] == ["42", "43"]


async def test_5xx_backs_off_and_gives_up_after_bounded_tries(zalo: FakeZalo) -> None:
    zalo.add_user("42", "Lan")
    zalo.inject_fault("sendMessage", status=502, times=2)
    time = VirtualTime()
    async with _client(zalo, time) as client:
        await client.send_message("42", "một")
        assert time.sleeps == [0.5, 1.0]  # exponential backoff
        zalo.inject_fault("sendMessage", status=500, times=10)
        with pytest.raises(ZaloError) as failed:
            await client.send_message("42", "hai")
        assert failed.value.status == 500 and failed.value.retryable
    assert [m.text for m in zalo.sent] == ["một"]
    assert len([f for f in zalo.faults if f[1] == 500]) == RetryPolicy().attempts


async def test_a_retry_after_beyond_a_minute_is_left_to_the_ledgers(zalo: FakeZalo) -> None:
    zalo.add_user("42", "Lan")
    zalo.inject_fault("sendMessage", status=429, retry_after=3600, times=1)
    time = VirtualTime()
    async with _client(zalo, time) as client:
        with pytest.raises(ZaloError) as limited:
            await client.send_message("42", "một")
    assert limited.value.status == 429 and limited.value.retry_after == 3600
    assert time.now == 0  # nothing slept for an hour


async def test_a_429_burst_on_replies_and_reminders(zalo_bot: ZaloBot) -> None:
    bot, fake = zalo_bot, zalo_bot.zalo
    lan = bot.user("7301", "Lan")
    bot.register(lan, "huyen-muong-te")
    fake.inject_fault("sendMessage", status=429, retry_after=1, times=2)
    replies = await lan.send("/whoami")
    assert len(replies) == 1 and "Lan" in replies[0]  # answered once, after waiting
    assert [status for _, status, _ in fake.faults] == [429, 429]

    fake.inject_fault("sendMessage", status=429, retry_after=120, times=1)  # too long to wait
    delivery = await bot.router.send(Recipient(1, "zalo", "7301", "vi"), Reply("Nhắc"))
    assert delivery.status is DeliveryStatus.RETRY  # the reminder ledger tries it again later
    assert fake.bad_requests == []


async def test_a_reply_goes_before_bulk_already_waiting() -> None:
    """Reminders queued on the token's pacer do not make a person wait for their answer."""
    import asyncio

    from domain.send_budget import bulk_sends

    time = VirtualTime()
    pacer = SendPacer(1, burst=1, monotonic=time.monotonic, sleep=time.sleep)
    order: list[str] = []

    async def bulk(name: str) -> None:
        with bulk_sends():
            await pacer.wait()
        order.append(name)

    async def reply() -> None:
        await pacer.wait()
        order.append("reply")

    await pacer.wait()  # the saved-up token is spent: everyone after this waits a turn
    tasks = [asyncio.create_task(bulk(f"bulk{i}")) for i in range(4)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(reply()))
    await asyncio.gather(*tasks)
    assert order.index("reply") <= 1  # at most the one bulk send already taking its turn
