"""Broadcasts end to end: the real Application and delivery engine over HTTP against the
stand-in, with Telegram's limits enforced (30 messages/s overall, 1/s per chat).

The office member speaks English here (``/lang en``) so the assertions hold whether or not
the Vietnamese catalogue has these messages yet; the focal points keep Vietnamese.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.runtime import services_for
from bot.settings import Settings
from domain.broadcasts import BroadcastService, PeriodChoice, SubmissionStatus
from domain.clock import Clock, FixedClock
from domain.services import Services
from standin.telegram import FakeTelegram, SentMessage
from storage.broadcast_models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    DeliveryStatus,
)
from storage.models import Account, FocalPoint, Role, Unit, UnitKind
from tests.harness import TOKEN, BotHarness, ChatUser, make_settings

ADMIN = 1
RATE = 30.0
NOW = datetime(2023, 5, 22, 2, 0, tzinfo=UTC)
PERIOD = PeriodChoice("six_month:2023", "6 tháng đầu năm 2023", "First half of 2023")


class StubSubmissions:
    """The reports' answer to "who has not submitted", as the lead will wire it."""

    def __init__(self, missing: dict[str, set[int]]) -> None:
        self.missing = missing

    def open_periods(self) -> Sequence[PeriodChoice]:
        return [PERIOD]

    def missing_unit_ids(self, period_key: str) -> set[int]:
        return set(self.missing.get(period_key, set()))


@dataclass(frozen=True)
class _WithBroadcasts(Services):
    broadcasts: BroadcastService


def with_broadcasts(services: Services, submissions: SubmissionStatus | None) -> Services:
    """Services with a BroadcastService on the stub (whether or not build_services has one)."""
    values = {f.name: getattr(services, f.name) for f in fields(services) if f.name != "broadcasts"}
    service = BroadcastService(
        services.db, services.clock, services.accounts, submission_status=submissions
    )
    return _WithBroadcasts(**values, broadcasts=service)


class BroadcastHarness(BotHarness):
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        telegram: FakeTelegram,
        submissions: SubmissionStatus | None,
    ) -> None:
        super().__init__(settings, clock, telegram)
        self.submissions = submissions
        self.services = with_broadcasts(self.services, submissions)
        self.offices = {ADMIN}

    async def office_member(self, user_id: int) -> ChatUser:
        """Standing office staff (not admin), speaking English."""
        self.services.accounts.grant_role("telegram", str(user_id), Role.OFFICE, actor="test")
        self.offices.add(user_id)
        member = self.user(user_id, f"Cán bộ {user_id}")
        await member.send("/lang en")
        return member

    async def restart(self) -> None:
        await self.stop()
        self.services = with_broadcasts(
            services_for(self.settings, self.db, self.clock), self.submissions
        )
        await self.start()

    # --- the world, built straight in the database (300 registrations would be slow) --------
    def units(self, *kinds: UnitKind) -> list[Unit]:
        with self.db.transaction() as session:
            rows = session.exec(
                select(Unit).where(col(Unit.active).is_(True)).order_by(col(Unit.code))
            ).all()
        return [u for u in rows if not kinds or u.kind in kinds]

    def focal_points(
        self, count: int, *, units: Sequence[Unit] | None = None, first_id: int = 10_000
    ) -> dict[int, Unit]:
        """Register ``count`` focal points round-robin over ``units``; user id → unit."""
        chosen = list(units or self.units())
        people: dict[int, Unit] = {}
        with self.db.transaction() as session:
            for index in range(count):
                user_id, unit = first_id + index, chosen[index % len(chosen)]
                account = Account(
                    external_id=str(user_id),
                    chat_id=str(user_id),
                    display_name=f"Đầu mối {user_id}",
                    created_at=NOW,
                )
                session.add(account)
                session.flush()
                assert account.id is not None and unit.id is not None
                session.add(FocalPoint(account_id=account.id, unit_id=unit.id, registered_at=NOW))
                self.telegram.add_user(user_id, f"Đầu mối {user_id}")
                people[user_id] = unit
        return people

    # --- what happened ----------------------------------------------------------------------
    def announcements(self, text: str) -> Counter[int]:
        """Messages per chat that carry ``text`` (edits excluded)."""
        return Counter(
            m.chat_id
            for m in self.telegram.sent
            if m.method in ("sendMessage", "sendDocument", "sendPhoto")
            and m.chat_id not in self.offices
            and text in m.plain_text
        )

    def broadcast_rows(self) -> list[Broadcast]:
        with self.db.transaction() as session:
            return list(session.exec(select(Broadcast).order_by(col(Broadcast.id))).all())

    def deliveries(self, broadcast_id: int) -> list[BroadcastDelivery]:
        with self.db.transaction() as session:
            return list(
                session.exec(
                    select(BroadcastDelivery).where(BroadcastDelivery.broadcast_id == broadcast_id)
                ).all()
            )

    def recipients(self, broadcast_id: int) -> set[int]:
        with self.db.transaction() as session:
            rows = session.exec(
                select(Account.external_id)
                .join(BroadcastDelivery, col(BroadcastDelivery.account_id) == col(Account.id))
                .where(BroadcastDelivery.broadcast_id == broadcast_id)
            ).all()
        return {int(external_id) for external_id in rows}

    async def finished(self, broadcast_id: int, timeout: float = 60.0) -> SentMessage:
        """Wait for the sender's final report of a round; return it."""
        prefix = f"Announcement #{broadcast_id}: delivered"
        with self.db.transaction() as session:
            row = session.get(Broadcast, broadcast_id)
            assert row is not None
            office = int(row.sender_chat_id)

        def report() -> SentMessage | None:
            return next(
                (
                    m
                    for m in self.telegram.messages_to(office)
                    if m.method == "sendMessage" and m.plain_text.startswith(prefix)
                ),
                None,
            )

        await self.telegram.wait_until(lambda: report() is not None, timeout)
        for _ in range(200):  # the round is marked done just after its report
            if self.status(broadcast_id) is BroadcastStatus.DONE:
                break
            await asyncio.sleep(0.01)
        found = report()
        assert found is not None
        return found

    def status(self, broadcast_id: int) -> BroadcastStatus:
        with self.db.transaction() as session:
            row = session.get(Broadcast, broadcast_id)
            assert row is not None
            return row.status


MakeHarness = Callable[..., Awaitable[BroadcastHarness]]


@pytest.fixture
async def make_harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[MakeHarness]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    started: list[tuple[BroadcastHarness, FakeTelegram]] = []

    async def build(
        *, submissions: SubmissionStatus | None = None, rate: float = RATE
    ) -> BroadcastHarness:
        telegram = FakeTelegram(TOKEN)
        await telegram.start()
        telegram.enforce_rate_limits(global_per_second=rate, per_chat_per_second=1, burst=3)
        # The application wires delivery itself, at BOT_BROADCAST_RATE.
        settings = make_settings(
            tmp_path, TELEGRAM_API_BASE_URL=telegram.base_url, BOT_BROADCAST_RATE=str(rate)
        )
        harness = BroadcastHarness(settings, FixedClock(NOW), telegram, submissions)
        harness.services.units.ensure_default_catalogue()
        await harness.start()
        started.append((harness, telegram))
        admin = harness.user(ADMIN, "Văn phòng thường trực")
        await admin.send("/lang en")
        return harness

    yield build
    for harness, telegram in started:
        await harness.stop()
        harness.db.engine.dispose()
        await telegram.stop()


async def compose(
    harness: BroadcastHarness, text: str, audience: str, *, office: int = ADMIN, **extra: Any
) -> tuple[ChatUser, list[SentMessage]]:
    """/broadcast → text → audience button; return the office member and the preview."""
    admin = ChatUser(harness, office, "Văn phòng")
    prompt = await admin.send("/broadcast")
    assert "Send the text of the announcement" in prompt[0].plain_text
    screen = await admin.send(text, **extra)
    assert "Who should receive it?" in screen[-1].plain_text
    # Always press on a given message: reports of earlier rounds may arrive meanwhile.
    preview = await admin.press(audience, screen[-1])
    return admin, preview


def people_line(preview: Sequence[SentMessage]) -> str:
    text = preview[-1].plain_text
    return next(line for line in text.splitlines() if line.startswith("Recipients:"))


async def test_300_focal_points_get_exactly_one_message_each_at_telegrams_pace(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness()
    telegram = harness.telegram
    people = harness.focal_points(300)
    blocked = sorted(people)[10:15]
    for user_id in blocked:
        telegram.block_user(user_id, notify=False)  # only the send tells us
    gone = sorted(people)[20]
    # A deleted account: the stand-in answers "chat not found".
    telegram._users.pop(gone)
    telegram._chats.pop(gone)
    stamps: list[tuple[float, SentMessage]] = []
    telegram.listeners.append(lambda m: stamps.append((time.monotonic(), m)))

    text = "Họp giao ban quý II: 8h00 ngày 05/6 <Hội trường A> & trực tuyến"
    admin, preview = await compose(harness, text, "All focal points")
    assert people_line(preview) == "Recipients: 300 focal points in 34 units."
    assert text in preview[-1].plain_text  # shown as it will be read, escaped
    started = time.monotonic()
    await admin.press("✅ Send to 300", preview[-1])
    (round_,) = harness.broadcast_rows()
    assert round_.id is not None and round_.total == 300
    report = await harness.finished(round_.id)
    elapsed = time.monotonic() - started

    per_chat = harness.announcements("Họp giao ban quý II")
    reachable = set(people) - set(blocked) - {gone}
    assert per_chat == Counter(dict.fromkeys(reachable, 1))
    assert elapsed >= (294 - 3) / RATE  # never faster than the limit allows
    assert elapsed < 294 / RATE * 1.5
    # Our pacing never made the stand-in refuse a send. (The office's own chat may see a 429
    # on an edit when the test clicks faster than a person: PTB's AIORateLimiter retries it.)
    assert [f for f in telegram.faults if f[1] == 429 and f[0] == "sendMessage"] == []
    sends = sorted(at for at, m in stamps if m.method == "sendMessage" and m.chat_id in reachable)
    for index, at in enumerate(sends):  # no second with more than the limit (+ burst)
        assert sum(1 for later in sends[index : index + 40] if later < at + 1.0) <= RATE + 3

    rows = {int(d.chat_id): d for d in harness.deliveries(round_.id)}
    assert {u for u, d in rows.items() if d.status is DeliveryStatus.SENT} == reachable
    assert {u: rows[u].failure_kind for u in [*blocked, gone]} == {
        **dict.fromkeys(blocked, "forbidden"),
        gone: "bad_request",
    }
    assert all(rows[u].message_id for u in reachable)
    with harness.db.transaction() as session:
        unreachable = session.exec(
            select(Account.external_id).where(col(Account.unreachable_at).is_not(None))
        ).all()
    assert sorted(int(u) for u in unreachable) == blocked
    assert [f for f in telegram.faults if f[1] == 403] == [
        ("sendMessage", 403, "Forbidden: bot was blocked by the user")
    ] * 5
    assert telegram.bad_requests == [("sendMessage", "Bad Request: chat not found")]

    # The progress message: the preview, edited in place, at most about every 2 seconds.
    progress_id = preview[-1].message_id
    edits = [
        (at, m)
        for at, m in stamps
        if m.method == "editMessageText"
        and m.chat_id == ADMIN
        and m.message_id == progress_id
        and at >= started
    ]
    texts = [m.plain_text for _, m in edits]
    assert texts[0] == "📤 Announcement #1: sent 0/300…"
    assert len(texts) == len(set(texts))  # every edit changes the text
    assert all(later - at >= 1.9 for (at, _), (later, _) in itertools.pairwise(edits[1:-1]))
    assert 4 <= len(edits) <= elapsed / 2 + 3
    assert any("sent " in t and "/300…" in t and "sent 0/" not in t for t in texts[1:-1])
    assert texts[-1] == "✅ Announcement #1 finished: delivered to 294 of 300.\nNot delivered: 6"

    lines = report.plain_text.splitlines()
    assert lines[0] == "Announcement #1: delivered to 294 of 300 focal points."
    assert "Not delivered (6):" in lines
    failures = [line for line in lines if line.startswith("• ")]
    assert len(failures) == 6
    assert sum("blocked the bot or deleted the account" in line for line in failures) == 5
    assert sum("chat not found" in line.lower() for line in failures) == 1
    assert f"Đầu mối {gone}" in report.plain_text
    assert people[gone].name_en in report.plain_text
    assert "Who confirmed: /acks 1" in report.plain_text


async def test_a_restart_mid_broadcast_finishes_it_without_duplicates(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness()
    people = harness.focal_points(150)
    flaky, flooded = sorted(people)[3], sorted(people)[4]
    harness.telegram.inject_fault("sendMessage", status=502, times=2, chat_id=flaky)
    harness.telegram.inject_fault("sendMessage", status=429, retry_after=1, chat_id=flooded)
    admin, preview = await compose(harness, "Nhắc nộp báo cáo 6 tháng", "All focal points")
    await admin.press("✅ Send to 150", preview[-1])
    await harness.telegram.wait_until(
        lambda: sum(harness.announcements("Nhắc nộp báo cáo").values()) >= 50, 20
    )
    await harness.restart()  # the engine drains what is in flight, then a new process resumes
    delivered_before = sum(harness.announcements("Nhắc nộp báo cáo").values())
    assert 50 <= delivered_before < 150
    await harness.finished(1)

    assert harness.announcements("Nhắc nộp báo cáo") == Counter(dict.fromkeys(people, 1))
    assert {d.status for d in harness.deliveries(1)} == {DeliveryStatus.SENT}
    # A 502 is retried with backoff (two failed attempts counted), a 429 waits and goes again.
    attempts = {int(d.chat_id): d.attempts for d in harness.deliveries(1)}
    assert (attempts[flaky], attempts[flooded]) == (2, 0)
    assert [f for f in harness.telegram.faults if f[1] == 502] == [
        ("sendMessage", 502, "Bad Gateway")
    ] * 2
    assert harness.telegram.bad_requests == []  # no "message is not modified" either
    edits = [
        m.plain_text
        for m in harness.telegram.messages_to(ADMIN)
        if m.method == "editMessageText" and m.message_id == preview[-1].message_id
    ]
    assert edits[-1] == "✅ Announcement #1 finished: delivered to 150 of 150."
    assert len(edits) == len(set(edits))


async def test_audiences_pick_exactly_the_right_units(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(submissions=StubSubmissions({}))
    people = harness.focal_points(68)  # two per active unit
    by_kind = {kind: {u for u, unit in people.items() if unit.kind is kind} for kind in UnitKind}
    # Never addressed: a focal point of an archived unit, and one no longer active.
    with harness.db.transaction() as session:
        archived = session.exec(select(Unit).where(col(Unit.active).is_(False))).first()
        assert archived is not None and archived.id is not None
        account = Account(external_id="777", chat_id="777", created_at=NOW)
        session.add(account)
        session.flush()
        assert account.id is not None
        session.add(FocalPoint(account_id=account.id, unit_id=archived.id, registered_at=NOW))
        retired = session.exec(select(FocalPoint).order_by(col(FocalPoint.id))).first()
        assert retired is not None
        retired.active = False
        retired_user = int(session.get(Account, retired.account_id).external_id)  # type: ignore[union-attr]
    harness.telegram.add_user(777, "Archived")
    for group in by_kind.values():
        group.discard(retired_user)
    missing_units = [u for u in harness.units() if u.code in ("so-y-te", "huyen-muong-te")]
    assert isinstance(harness.submissions, StubSubmissions)
    harness.submissions.missing[PERIOD.key] = {u.id for u in missing_units if u.id}

    # One office member per round: each chat has its own one-message-a-second limit.
    offices = [(await harness.office_member(user_id)).user_id for user_id in range(2, 8)]
    expected: dict[int, set[int]] = {}
    admin, preview = await compose(harness, "Gửi các sở", "Departments", office=offices[0])
    assert people_line(preview) == "Recipients: 39 focal points in 20 units."
    await admin.press("✅ Send to 39", preview[-1])
    expected[1] = by_kind[UnitKind.DEPARTMENT]

    admin, preview = await compose(harness, "Gửi các đoàn thể", "Organisations", office=offices[1])
    assert people_line(preview) == "Recipients: 12 focal points in 6 units."
    await admin.press("✅ Send to 12", preview[-1])
    expected[2] = by_kind[UnitKind.ORGANISATION]

    admin, preview = await compose(
        harness, "Gửi các huyện", "Districts and communes", office=offices[2]
    )
    assert people_line(preview) == "Recipients: 16 focal points in 8 units."
    await admin.press("✅ Send to 16", preview[-1])
    expected[3] = by_kind[UnitKind.DISTRICT] | by_kind[UnitKind.COMMUNE]

    admin, _ = await compose(
        harness, "Gửi đơn vị chọn", "Chosen units (type their codes)", office=offices[3]
    )
    unknown = await admin.send("so-y-te, khong-co-ma")
    assert "Unknown unit codes: khong-co-ma" in unknown[0].plain_text
    preview = await admin.send("SO-Y-TE hoi-lhpn-tinh")
    assert "To: chosen units: so-y-te, hoi-lhpn-tinh" in preview[-1].plain_text
    assert people_line(preview) == "Recipients: 4 focal points in 2 units."
    await admin.press("✅ Send to 4", preview[-1])
    expected[4] = {u for u, unit in people.items() if unit.code in ("so-y-te", "hoi-lhpn-tinh")}

    admin, periods = await compose(
        harness, "Gửi đơn vị chưa nộp", "Units that have not submitted…", office=offices[4]
    )
    assert periods[-1].buttons[0] == [("First half of 2023", periods[-1].buttons[0][0][1])]
    preview = await admin.press("First half of 2023", periods[-1])
    assert "To: units that have not submitted First half of 2023" in preview[-1].plain_text
    assert people_line(preview) == "Recipients: 4 focal points in 2 units."
    await admin.press("✅ Send to 4", preview[-1])
    expected[5] = {u for u, unit in people.items() if unit.code in ("so-y-te", "huyen-muong-te")}

    admin, preview = await compose(harness, "Gửi tất cả", "All focal points", office=offices[5])
    assert people_line(preview) == "Recipients: 67 focal points in 34 units."
    await admin.press("✅ Send to 67", preview[-1])
    expected[6] = set(people) - {retired_user}

    for broadcast_id, users in expected.items():
        assert harness.recipients(broadcast_id) == users, broadcast_id
    for broadcast_id in expected:
        await harness.finished(broadcast_id)
    for broadcast_id, users in expected.items():
        text = [
            "Gửi các sở",
            "Gửi các đoàn thể",
            "Gửi các huyện",
            "Gửi đơn vị chọn",
            "Gửi đơn vị chưa nộp",
            "Gửi tất cả",
        ][broadcast_id - 1]
        assert harness.announcements(text) == Counter(dict.fromkeys(users, 1)), text
    assert 777 not in {m.chat_id for m in harness.telegram.sent}
    assert harness.telegram.bad_requests == []


async def test_without_open_periods_the_not_submitted_choice_is_hidden(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(submissions=None)
    harness.focal_points(3)
    admin = ChatUser(harness, ADMIN, "Văn phòng")
    await admin.send("/broadcast")
    screen = await admin.send("Thông báo")
    labels = [label for row in screen[-1].buttons for label, _ in row]
    assert "All focal points" in labels
    assert "Units that have not submitted…" not in labels


async def test_acknowledgments_reminders_and_replies(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness()
    telegram = harness.telegram
    people = harness.focal_points(20, units=harness.units(UnitKind.ORGANISATION))
    admin, preview = await compose(harness, "Đề nghị xác nhận kế hoạch", "Organisations")
    assert "With a “Received” button" in preview[-1].plain_text
    await admin.press("✅ Send to 20", preview[-1])
    await harness.finished(1)

    users = {u: ChatUser(harness, u, f"Đầu mối {u}") for u in people}
    confirming = sorted(people)[:5]
    for user_id in confirming:
        message = telegram.last_message(user_id)
        assert message.buttons == [[("✅ Received", "bc:ack")]] or message.buttons[0][0][1] == (
            "bc:ack"
        )
        await users[user_id].press(message.buttons[0][0][0], message)
        assert telegram.last_message(user_id).buttons == []  # the button went away
    again = await users[confirming[0]].press_data(
        telegram.last_message(confirming[0]).message_id, "bc:ack"
    )
    assert again == []  # only a toast
    toasts = [c.get("text") for c in telegram.answered_callbacks]
    assert toasts.count("You have already confirmed. Thank you!") == 1 or any(
        "đã xác nhận" in str(t) for t in toasts
    )

    listing = await admin.send("/broadcasts")
    assert "#1 · " in listing[0].plain_text
    assert "delivered: 20/20 · confirmed: 5 · /acks 1" in listing[0].plain_text

    overview = await admin.send("/acks 1")
    text = overview[-1].plain_text
    assert "Confirmed: 5 of 20." in text
    assert text.count("• ") == 20
    remind_label = "🔔 Remind the 15 who have not confirmed"
    assert overview[-1].buttons[0][0][0] == remind_label
    started = await admin.press(remind_label, overview[-1])
    assert started[-1].plain_text == "📤 Announcement #2: sent 0/15…"
    await harness.finished(2)
    stale = await admin.press(remind_label, overview[-1])  # the old button: no second round
    assert stale == []
    assert len(harness.broadcast_rows()) == 2

    per_chat = harness.announcements("Đề nghị xác nhận kế hoạch")
    assert per_chat == Counter({u: 1 if u in confirming else 2 for u in people})
    late = sorted(set(people) - set(confirming))[0]
    reminder = telegram.last_message(late)
    assert reminder.plain_text.startswith("🔔")
    await users[late].press(reminder.buttons[0][0][0], reminder)
    overview = await admin.send("/acks 2")  # asked about the round: the announcement's view
    assert "Confirmed: 6 of 20." in overview[-1].plain_text
    assert "Remind the 14 who have not confirmed" in overview[-1].buttons[0][0][0]

    # A reply to the announcement reaches the office member who sent it, with the unit.
    replier = sorted(people)[7]
    announcement = next(
        m
        for m in telegram.messages_to(replier)
        if m.method == "sendMessage" and "Đề nghị xác nhận" in m.plain_text
    )
    mark = len(telegram.sent)
    answer = await users[replier].send(
        "Đơn vị sẽ gửi kế hoạch trước 30/5",
        reply_to_message=telegram.message(replier, announcement.message_id),
    )
    assert len(answer) == 1  # the focal point is told it went through
    to_office = [m for m in telegram.sent[mark:] if m.chat_id == ADMIN]
    unit = people[replier]
    assert to_office[0].plain_text == (
        f"↩️ Reply to announcement #1 from {unit.name_en} (Đầu mối {replier}):"
    )
    assert to_office[1].method == "copyMessage"
    assert to_office[1].plain_text == "Đơn vị sẽ gửi kế hoạch trước 30/5"
    # A reply to anything else is an ordinary message.
    mark = len(telegram.sent)
    await users[replier].send(
        "cảm ơn", reply_to_message=telegram.message(replier, answer[0].message_id)
    )
    assert [m for m in telegram.sent[mark:] if m.chat_id == ADMIN] == []
    assert telegram.bad_requests == []
    assert telegram.unanswered_callbacks == []


async def test_office_commands_are_refused_to_focal_points(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness()
    (user_id,) = harness.focal_points(1)
    focal = ChatUser(harness, user_id, "Đầu mối")
    for command in ("/broadcast", "/broadcasts", "/acks 1"):
        refused = await focal.send(command)
        assert "chỉ dành cho cơ quan thường trực" in refused[0].plain_text or (
            "only for the standing office" in refused[0].plain_text
        )
    # A forged press of an office button changes nothing.
    _, preview = await compose(harness, "Bí mật", "All focal points")
    (draft,) = harness.broadcast_rows()
    message = harness.telegram.last_message(user_id)
    send_data = next(data for row in preview[-1].buttons for label, data in row if "Send" in label)
    assert send_data.startswith("bc:send:")
    refused = await focal.press_data(message.message_id, send_data)
    assert refused == []
    assert harness.broadcast_rows()[0].status is BroadcastStatus.DRAFT
    assert harness.announcements("Bí mật") == Counter()
    assert draft.id is not None


async def test_draft_survives_a_restart_and_carries_a_document(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness()
    people = harness.focal_points(6, units=harness.units(UnitKind.DISTRICT))
    telegram = harness.telegram
    admin = ChatUser(harness, ADMIN, "Văn phòng")
    await admin.send("/broadcast")
    file_id = telegram.add_file(b"%PDF-1.4 ke hoach", "ke-hoach-2023.pdf")
    update_id = telegram.inject_message(
        ADMIN, None, document=telegram.file_object(file_id), caption="Kế hoạch tháng hành động"
    )
    screen = await harness.replies_to(ADMIN, update_id)
    assert "Who should receive it?" in screen[-1].plain_text

    await harness.restart()  # the draft is in the database, not in memory
    preview = await admin.press("Districts and communes", screen[-1])
    assert "Attachment: ke-hoach-2023.pdf" in preview[-1].plain_text
    await admin.press("✅ Send to 6", preview[-1])
    await harness.finished(1)
    documents = [m for m in telegram.sent if m.method == "sendDocument"]
    assert sorted(m.chat_id for m in documents) == sorted(people)
    assert all(m.file_id == file_id for m in documents)
    assert all("Kế hoạch tháng hành động" in m.plain_text for m in documents)

    # Too long a text is refused; a photo after the text is attached; a caption has its limit.
    # (Another office member: every chat has its own one-message-a-second limit.)
    office = await harness.office_member(2)
    await office.send("/broadcast")
    refused = await office.send("x" * 3501)
    assert "The text has 3501 characters; at most 3500" in refused[0].plain_text
    screen = await office.send("y" * 900)
    assert "Who should receive it?" in screen[-1].plain_text
    photo = [{"file_id": "AgAC-photo", "file_unique_id": "p1", "width": 90, "height": 90}]
    update_id = telegram.inject_message(office.user_id, None, photo=photo)
    refused = await harness.replies_to(office.user_id, update_id)
    assert "at most 800 characters; it has 900" in refused[0].plain_text
    screen = await office.send("Ảnh hoạt động tháng 6")  # the shorter text is taken again
    assert "Who should receive it?" in screen[-1].plain_text
    preview = await office.press("Districts and communes", screen[-1])
    assert "Attachment: a photo" in preview[-1].plain_text

    # /cancel drops a draft; with no draft, /cancel is the forms' command again.
    cancelled = await office.send("/cancel")
    assert cancelled[0].plain_text == "Cancelled. Nothing was sent."
    assert harness.broadcast_rows()[-1].status is BroadcastStatus.CANCELLED
    other = await office.send("/cancel")
    assert other[0].plain_text != "Cancelled. Nothing was sent."
    assert telegram.bad_requests == []
