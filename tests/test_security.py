"""Issue 14, the security test module: hostile input, strangers and operators' mistakes.

Each case is driven end to end over the stand-ins (the real Application polling the Telegram
stand-in; the Zalo adapter polling the Zalo one, in the same process and database), and
asserts what the person sees and what is stored: nothing lost, nothing foreign revealed.

Cases whose tests live elsewhere (``test_the_index_names_real_tests`` keeps this honest):

- a pasted essay: every parser, property-tested (``tests/forms/test_parsing_limits.py``);
- a spreadsheet that runs what it opens: ``tests/test_export_safety.py`` (the .xlsx and .csv
  read back, one export made end to end from a typed formula);
- the fairness policy's arithmetic on its own clock: ``tests/test_fairness.py``;
- two processes redeeming one invite: ``tests/test_invite_race.py``;
- a wrong token, an unreachable API, a bad DATABASE_URL, the demo on a production database
  (``python -m bot`` in a subprocess): ``tests/test_startup_errors.py``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.settings import load_settings
from bot.zalo_runner import build_zalo
from commands.core import Runtime
from domain.channels import ChannelRouter
from domain.clock import FixedClock
from domain.fairness import SLOW_DOWN, STRANGER_NOTICE, FairnessConfig, FairnessPolicy
from domain.i18n import translator_for
from domain.identity import ChannelIdentity
from standin.telegram import FakeTelegram
from standin.zalo import FakeZalo
from storage.inbox import InboundUpdate
from storage.models import Account, Answer, Role
from tests.conftest import ADMIN_ID, open_services, running_harness
from tests.forms_helpers import DISTRICT_ANSWERS, TYPED_ANSWERS, answer, current_question
from tests.forms_helpers import register as register_telegram
from tests.harness import BotHarness, ChatUser
from tests.zalo.conftest import ZaloBot, ZaloUser, _zalo_bot, serving_settings

VI = translator_for("vi")
UNIT = "huyen-muong-te"
SORRY = VI(
    "Sorry, something went wrong on my side. What you entered before is saved; "
    "please try again in a moment."
)
# Small buckets so that a test shows each rule in a few messages.
CONFIG = FairnessConfig(
    account_burst=3, account_rate=5.0, stranger_burst=3, stranger_per_minute=1.0
)


# --------------------------------------------------------------------------- fixtures
class Time:
    """The fairness policy's clock (seconds), moved by the test; and the gate that paced
    messages wait at, so a test decides when their turn comes (never a wall clock)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.gate = asyncio.Event()
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self.gate.wait()


@pytest.fixture
def time() -> Time:
    return Time()


@pytest.fixture
def policy(time: Time) -> FairnessPolicy:
    return FairnessPolicy(CONFIG, clock=time, sleep=time.sleep)


@pytest.fixture
async def fair(
    tmp_path: Path, clock: FixedClock, telegram: FakeTelegram, policy: FairnessPolicy
) -> AsyncIterator[BotHarness]:
    """The Telegram bot with fairness on, on the test's clock."""
    async for harness in running_harness(
        tmp_path, clock, telegram, fairness=policy, BOT_FAIRNESS="on"
    ):
        harness.services.periods.ensure_year(2023)
        yield harness


@pytest.fixture
async def both(
    tmp_path: Path,
    clock: FixedClock,
    telegram: FakeTelegram,
    zalo: FakeZalo,
    policy: FairnessPolicy,
) -> AsyncIterator[ZaloBot]:
    """Telegram and Zalo in one process, fairness on: one policy for both channels."""
    async for bot in _zalo_bot(tmp_path, clock, telegram, zalo, fairness=policy, BOT_FAIRNESS="on"):
        bot.services.periods.ensure_year(2023)
        yield bot


def _inbox_rows(db_owner: BotHarness, channel: str, sender: str) -> int:
    """Updates stored in the inbox from one sender."""
    with db_owner.db.transaction() as session:
        rows = session.exec(select(InboundUpdate).where(InboundUpdate.channel == channel)).all()
    count = 0
    for row in rows:
        payload = json.loads(row.payload_json)
        if channel == "zalo":
            count += payload.get("user_id") == sender
        else:
            found = payload.get("message") or payload.get("callback_query") or {}
            count += str(found.get("from", {}).get("id")) == sender
    return count


def _answers(harness: BotHarness, account_external_id: str) -> dict[str, object]:
    """The stored answers a person gave, by question."""
    with harness.db.transaction() as session:
        account = session.exec(
            select(Account).where(Account.external_id == account_external_id)
        ).one()
        rows = session.exec(
            select(Answer).where(col(Answer.answered_by_account_id) == account.id)
        ).all()
        return {row.question_key: json.loads(row.value_json) for row in rows}


# --------------------------------------------------------------------------- a pasted essay
async def _telegram_to(harness: BotHarness, user: ChatUser, key: str) -> None:
    await user.send("/report")
    while current_question(harness, user) != key:
        await answer(user, DISTRICT_ANSWERS[str(current_question(harness, user))])


async def test_a_4000_character_answer_gets_the_limit_and_nothing_is_lost(
    harness: BotHarness,
) -> None:
    """Telegram: a paste into a multi-choice question (82 s of parsing, before)."""
    harness.services.periods.ensure_year(2023)
    focal = harness.user(1001, "Đầu mối")
    register_telegram(harness, focal, UNIT)
    await _telegram_to(harness, focal, "activity_forms")
    before = _answers(harness, "1001")
    essay = ("Tập huấn, bồi dưỡng; " * 200)[:3999] + "x"
    replies = [m.plain_text for m in await focal.send(essay)]
    assert "quá dài" in replies[0] and "4.000" in replies[0]
    assert current_question(harness, focal) == "activity_forms"  # asked again
    assert _answers(harness, "1001") == before  # everything entered before is kept
    await focal.send("1, 3, 5")
    assert len(_answers(harness, "1001")["activity_forms"]) == 3  # type: ignore[arg-type]
    assert harness.telegram.bad_requests == []


async def test_a_4000_character_answer_on_zalo(both: ZaloBot, time: Time) -> None:
    focal = both.user("7001", "Đầu mối Zalo")
    both.register(focal, UNIT)
    await focal.send("/report")
    while (key := both.current_question(focal)) != "activity_forms":
        time.now += 1  # a person's pace: fairness lets every answer through at once
        await focal.send(str(TYPED_ANSWERS[str(key)]))
    texts = await focal.send("9" * 4000)
    assert any("quá dài" in text and "4.000" in text for text in texts)
    assert both.current_question(focal) == "activity_forms"
    assert all(len(text) <= 2000 for text in texts)  # Zalo's limit: nothing echoed back whole
    assert both.zalo.bad_requests == []


# --------------------------------------------------------------------------- strangers
async def test_a_stranger_flood_on_telegram_costs_a_few_replies_and_no_storage(
    fair: BotHarness, time: Time
) -> None:
    stranger = fair.user(6666, "Người lạ")
    seen: list[str] = []
    for _ in range(150):  # one a second for two and a half minutes
        seen += [m.plain_text for m in await stranger.send("spam spam spam")]
        time.now += 1
    # Three answers (the first read as anyone's: the bot had never met them), then one short
    # notice a minute after the last answer, and silence (the next notice 2 minutes later).
    assert "đầu mối đã đăng ký" in seen[0]
    assert seen.count(seen[0]) == 3
    assert seen.count(VI(STRANGER_NOTICE)) == 1
    assert len(seen) == 4
    assert _inbox_rows(fair, "telegram", "6666") == 3  # the 147 others were never stored
    # After a pause the stranger can still register: nothing locked them out for good.
    time.now += 120
    issued = fair.services.registration.create_invite(UNIT, actor="test")
    welcome = await stranger.send(f"/start {issued.code}")
    assert "Huyện Mường Tè" in welcome[0].plain_text
    assert fair.telegram.bad_requests == []


async def test_a_stranger_flood_on_zalo_spares_the_quota(both: ZaloBot, time: Time) -> None:
    quota = both.channel.quota if both.channel is not None else None
    assert quota is not None
    sent_before = quota.usage().sent
    stranger = both.user("6667", "Người lạ Zalo")
    seen: list[str] = []
    for _ in range(150):
        seen += await stranger.send("alo alo")
        time.now += 1
    assert seen.count(seen[0]) == 3
    assert seen.count(VI(STRANGER_NOTICE)) == 1
    assert len(seen) == 4
    assert quota.usage().sent - sent_before == 4  # four messages of the month's quota, not 150
    assert _inbox_rows(both.telegram, "zalo", "6667") == 3
    assert both.zalo.bad_requests == []


async def test_a_focal_point_typing_too_fast_is_paced_in_order_while_others_are_served(
    fair: BotHarness, time: Time
) -> None:
    """Over their rate a registered person gets one "please slow down"; every message is
    then handled, in order, while another person is answered at once."""
    focal = fair.user(1001, "Đầu mối nhanh tay")
    register_telegram(fair, focal, UNIT)
    other = fair.user(1002, "Đầu mối khác")
    register_telegram(fair, other, "huyen-sin-ho")
    await focal.send("/report")  # one of the three at once
    # Typed ahead, as from a prepared list: two go at once, the four after them are paced.
    typed = ["3", "KH 12/KH-UBND", "có", "có", "2", "1.250"]
    ids = [fair.telegram.inject_message(1001, text) for text in typed]
    await fair.settle(ids[:2])
    assert current_question(fair, focal) == "ban_vstbpn_consolidated"
    help_text = [m.plain_text for m in await other.send("/help")]  # served meanwhile
    assert any("/report" in text for text in help_text)
    assert not fair._processed.get(ids[-1], asyncio.Event()).is_set()
    time.gate.set()  # their turns come
    await fair.settle(ids)
    to_focal = [m.plain_text for m in fair.telegram.messages_to(1001)]
    assert to_focal.count(VI(SLOW_DOWN)) == 1
    stored = _answers(fair, "1001")
    assert stored["doc_plans_issued"] == 3
    assert stored["doc_plans_list"] == "KH 12/KH-UBND"
    assert stored["ban_vstbpn_consolidated"] is True
    assert stored["gender_mainstreamed"] is True
    assert stored["ban_meetings"] == 2
    assert stored["staff_total"] == 1250  # all six, each on its own question: in order
    assert time.waits and all(wait >= 0 for wait in time.waits)
    assert _inbox_rows(fair, "telegram", "1001") == 7  # every message stored, none dropped
    assert fair.telegram.bad_requests == []


async def test_a_focal_point_typing_too_fast_on_zalo(both: ZaloBot, time: Time) -> None:
    focal = both.user("7002", "Đầu mối Zalo nhanh tay")
    both.register(focal, UNIT)
    other = both.user("7003", "Đầu mối Zalo khác")
    both.register(other, "huyen-sin-ho")
    await focal.send("/report")
    typed = ["3", "KH 12/KH-UBND", "có", "có", "2", "1.250"]
    ids = [both.zalo.inject_text("7002", text) for text in typed]
    for message_id in ids[:2]:
        await both.processed(message_id)
    helped = await other.send("/help")  # the polling loop is not held by the paced ones
    assert any("/report" in text for text in helped)
    time.gate.set()
    for message_id in ids:
        await both.processed(message_id)
    to_focal = focal.inbox()
    assert to_focal.count(VI(SLOW_DOWN)) == 1
    assert both.current_question(focal) == "staff_female"  # the next one: all six applied
    stored = _answers(both.telegram, "7002")
    assert (stored["ban_meetings"], stored["staff_total"]) == (2, 1250)
    assert _inbox_rows(both.telegram, "zalo", "7002") == 7


# --------------------------------------------------------------------------- guard rails
HOSTILE = "<b&x"
ESCAPED = [
    (f"/invite {HOSTILE}", HOSTILE),
    (f"/answers {HOSTILE} six_month:2023", HOSTILE),
    (f"/reopen {HOSTILE} six_month:2023", HOSTILE),
    (f"/answers {UNIT} {HOSTILE}", VI("There is no such report period. /periods lists them.")),
    (f"/reopen {UNIT} {HOSTILE}", VI("There is no such report period. /periods lists them.")),
    (f"/acks {HOSTILE}", "/acks"),
    (f"/adhoc 1/1/2030 {HOSTILE} & co", f"{HOSTILE} & co"),
]
RANGES = [
    ("/calendar 99999", "2000", "2100"),
    ("/calendar ²", "2000", "2100"),
    ("/acks 99999999999999999999", "/acks", "/broadcasts"),
    ("/acks ²", "/acks", "/broadcasts"),
    (f"/reopen {UNIT} six_month:2023 100000", "1", "366"),
    (f"/reopen {UNIT} six_month:2023 ²", "1", "366"),
    ("/audit 1000000", "1", "50"),
    ("/audit 0", "1", "50"),
]


async def _admins(bot: ZaloBot) -> tuple[ChatUser, ZaloUser]:
    admin = bot.telegram.user(ADMIN_ID, "Quản trị")
    zalo_admin = bot.user("9004", "Quản trị Zalo")
    bot.services.accounts.grant_role("zalo", "9004", Role.ADMIN, actor="test")
    return admin, zalo_admin


async def test_error_replies_show_what_was_typed_as_text_on_both_channels(
    both: ZaloBot, time: Time
) -> None:
    admin, zalo_admin = await _admins(both)
    for text, shown in ESCAPED:
        time.now += 1
        telegram = [m for m in await admin.send(text)]
        assert telegram and shown in telegram[0].plain_text, (text, telegram)
        assert all(m.parse_mode is None or "<b&" not in (m.text or "") for m in telegram)
        zalo = await zalo_admin.send(text)
        assert zalo and shown in zalo[0], (text, zalo)
    assert both.telegram.telegram.bad_requests == []  # no reply was a Bad Request
    assert both.zalo.bad_requests == []


async def test_numeric_arguments_out_of_range_get_a_friendly_reply(
    both: ZaloBot, time: Time
) -> None:
    admin, zalo_admin = await _admins(both)
    for text, *facts in RANGES:
        time.now += 1
        replies = [m.plain_text for m in await admin.send(text)] + await zalo_admin.send(text)
        assert len(replies) == 2, (text, replies)
        for reply in replies:
            assert reply != SORRY, text
            assert all(fact in reply for fact in facts), (text, reply)
        assert all(len(reply) < 300 for reply in replies)  # /audit 1000000 built no huge reply
    assert both.telegram.telegram.bad_requests == []


async def test_the_audit_log_is_read_page_by_page(both: ZaloBot, time: Time) -> None:
    """/audit never builds a huge reply: 50 at most, then the next page."""
    admin, zalo_admin = await _admins(both)
    for _ in range(70):
        both.services.registration.create_invite(UNIT, actor="test")
    first = (await admin.send("/audit 50"))[0].plain_text
    assert first.count("invite.create") == 50
    assert first.endswith("/audit 50 2")
    time.now += 1
    second = (await zalo_admin.send("/audit 50 2"))[0]
    assert second.count("invite.create") == 20 and "role.grant" in second
    assert "/audit 50 3" not in second  # nothing older
    time.now += 1
    beyond = (await admin.send("/audit 50 9999"))[0].plain_text
    assert beyond == "Không còn thao tác nào cũ hơn."
    time.now += 1
    for text in ("/audit 20 0", "/audit 20 99999999999", "/audit 20 ²"):
        replies = [m.plain_text for m in await admin.send(text)] + await zalo_admin.send(text)
        assert all("từ 1 đến 10000" in reply for reply in replies), (text, replies)
        time.now += 1


@pytest.mark.parametrize("typed", ["/", "/ ", "//", "/@", "/<b>"])
async def test_a_slash_alone_on_zalo_gets_a_reply(both: ZaloBot, time: Time, typed: str) -> None:
    focal = both.user("9005", "Đầu mối")
    both.register(focal, UNIT)
    assert await focal.send(typed) == [
        "Xin lỗi, tôi chưa hiểu ý anh/chị. Gõ /help để xem các việc tôi có thể giúp."
    ]
    time.now += 60
    stranger = both.user("9007", "Người lạ")
    replies = await stranger.send(typed)
    assert len(replies) == 1 and "đầu mối đã đăng ký" in replies[0]


async def test_nothing_foreign_is_revealed_to_a_stranger(both: ZaloBot, time: Time) -> None:
    """A stranger trying the office's commands learns nothing about any unit."""
    stranger = both.user("9006", "Người tò mò")
    unit = both.services.units.list_units()[0]
    for text in ("/answers huyen-muong-te", "/export", "/units", "/audit", f"/status {UNIT}"):
        time.now += 60  # slowly: each one is read
        for reply in await stranger.send(text):
            assert "Mường Tè" not in reply and unit.name_vi not in reply, (text, reply)
    identity = ChannelIdentity("zalo", "9006", "9006", "Người tò mò")
    assert not both.services.accounts.load(identity).is_registered


def test_every_server_listens_on_loopback_by_default() -> None:
    """The webhooks and the file server sit behind a reverse proxy unless told otherwise."""
    settings = load_settings(TELEGRAM_BOT_TOKEN="12345:telegram-secret")
    hosts = {settings.telegram_listen[0], settings.zalo_listen[0], settings.files_listen[0]}
    assert hosts == {"127.0.0.1"}


# --------------------------------------------------------------------------- the index
INDEX = {
    "tests.forms.test_parsing_limits": [
        "test_any_text_is_read_or_refused_with_a_message",
        "test_an_answer_over_its_kinds_limit_is_refused_before_reading",
        "test_the_multi_choice_matcher_tries_each_piece_a_bounded_number_of_times",
    ],
    "tests.test_export_safety": [
        "test_xlsx_writes_formula_like_text_as_text",
        "test_csv_prefixes_formula_like_text_and_keeps_numbers",
        "test_an_answer_typed_as_a_formula_reaches_the_office_as_text",
    ],
    "tests.test_fairness": ["test_replies_to_a_stranger_stay_few_whatever_the_timing"],
    "tests.test_invite_race": ["test_two_processes_redeeming_one_invite_exactly_one_wins"],
    "tests.test_startup_errors": [
        "test_a_wrong_token_exits_2_naming_the_token",
        "test_an_unreachable_api_exits_2_naming_the_address_variable",
        "test_a_bad_database_url_exits_2_naming_it",
        "test_the_demo_refuses_a_database_that_is_not_its_own",
    ],
}


def test_the_index_names_real_tests() -> None:
    for module_name, names in INDEX.items():
        module = importlib.import_module(module_name)
        for name in names:
            assert callable(getattr(module, name, None)), f"{module_name}.{name} is gone"


async def test_zalo_alone_gets_the_policy_too(
    tmp_path: Path, clock: FixedClock, zalo: FakeZalo
) -> None:
    """``python -m bot zalo`` builds no Telegram Application: build_zalo makes the policy."""
    settings = serving_settings(tmp_path, zalo, BOT_FAIRNESS="on")
    services = open_services(tmp_path / "alone.sqlite3", clock)
    runtime = Runtime(ChannelRouter({}))
    channel = build_zalo(settings, services, runtime)
    try:
        assert isinstance(runtime.fairness, FairnessPolicy)
    finally:
        await channel.client.aclose()
        services.db.engine.dispose()
