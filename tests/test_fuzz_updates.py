"""Hostile and odd input: thousands of random updates, zero unhandled errors, zero Bad Requests."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.clock import FixedClock
from standin.telegram import FakeTelegram
from tests.conftest import ADMIN_ID, VN
from tests.forms_helpers import register
from tests.harness import TOKEN, BotHarness, make_settings

USERS = (ADMIN_ID, 1001, 1002, 3001)  # admin, focal point A, focal point B, a stranger
COMMANDS = [
    "/start",
    "/help",
    "/report",
    "/cancel",
    "/whoami",
    "/lang en",
    "/lang vi",
    "/lang xx",
    "/calendar",
    "/calendar 1999",
    "/status",
    "/answers",
    "/answers nope x",
    "/export nope",
    "/invite",
    "/invite so-y-te",
    "/reopen",
    "/adhoc 1/1/2000 x",
    "/remind",
    "/periods",
    "/units planet",
    "/audit 9999",
    "/start " + "A" * 40,
]

texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "<b>",
            "</i>",
            "a & b",
            "&amp;",
            "<script>x</script>",
            "1.200",
            "12,5",
            "không",
            "có",
            "15 triệu",
            "bo qua",
            "quay lai",
            "1, 3",
            "‮rtl‭",
            "😀" * 30,
            "0",
            "-1",
            "99999999999999999999",
        ]
    ),
    st.sampled_from(COMMANDS),
    st.builds(lambda n: "x" * n, st.integers(min_value=3000, max_value=10000)),
)
callback_data = st.one_of(
    st.text(max_size=64),
    st.sampled_from(
        [
            "0|p:1:1",
            "0|p:999:1",
            "1|o:1",
            "5|o:yes",
            "2|skip",
            "3|back",
            "1|submit",
            "-1|amend",
            "-999|amend",
            "|",
            "abc|def",
            "1|e:0",
            "1|e:99999",
            "bc:1",
        ]
    ),
)
action = st.one_of(
    st.tuples(st.just("text"), st.sampled_from(USERS), texts),
    st.tuples(st.just("press"), st.sampled_from(USERS), callback_data),
    st.tuples(st.just("edited"), st.sampled_from(USERS), texts),
    st.tuples(st.just("sticker"), st.sampled_from(USERS), st.just("")),
    st.tuples(st.just("photo"), st.sampled_from(USERS), st.just("")),
    st.tuples(st.just("group"), st.sampled_from(USERS), texts),
    st.tuples(st.just("channel"), st.sampled_from(USERS), texts),
)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _scenario(actions: list[tuple[str, int, str]]) -> tuple[list[str], list[Any]]:
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    telegram = FakeTelegram(TOKEN)
    await telegram.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp), TELEGRAM_API_BASE_URL=telegram.base_url)
        clock = FixedClock(datetime(2023, 5, 22, 9, 0, tzinfo=VN))
        harness = BotHarness(settings, clock, telegram)
        harness.services.units.ensure_default_catalogue()
        harness.services.periods.ensure_year(2023)
        await harness.start()
        try:
            users = {uid: harness.user(uid, f"U{uid} <&>") for uid in USERS}
            register(harness, users[1001], "huyen-muong-te")
            register(harness, users[1002], "so-y-te")
            telegram.add_group(-100, "Nhóm <test>")
            ids = [_inject(telegram, kind, user_id, payload) for kind, user_id, payload in actions]
            # Channel posts are not among the bot's allowed_updates: Telegram (and the stand-in)
            # never deliver them, so there is nothing to wait for.
            await harness.settle(
                [i for i, (kind, _, _) in zip(ids, actions, strict=True) if kind != "channel"],
                timeout=30,
            )
        finally:
            await harness.stop()
            harness.db.engine.dispose()
            await telegram.stop()
            logging.getLogger().removeHandler(errors)
    return [r.getMessage() for r in errors.records], list(telegram.bad_requests)


def _inject(telegram: FakeTelegram, kind: str, user_id: int, payload: str) -> int:
    if kind == "text":
        return telegram.inject_message(user_id, payload or ".")
    if kind == "press":
        messages = telegram.messages_to(user_id)
        if messages:
            return telegram.inject_callback(user_id, messages[-1].message_id, payload, strict=False)
        return telegram.inject_message(user_id, "/help")
    if kind == "edited":
        return telegram.inject_update(
            {
                "edited_message": {
                    "message_id": 1,
                    "date": 0,
                    "edit_date": 1,
                    "chat": {"id": user_id, "type": "private"},
                    "from": {"id": user_id, "is_bot": False, "first_name": "E"},
                    "text": payload or ".",
                }
            }
        )
    if kind == "sticker":
        return telegram.inject_message(
            user_id,
            None,
            sticker={
                "file_id": "S",
                "file_unique_id": "s",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            },
        )
    if kind == "photo":
        return telegram.inject_message(
            user_id, None, photo=[{"file_id": "P", "file_unique_id": "p", "width": 1, "height": 1}]
        )
    if kind == "group":
        return telegram.inject_message(user_id, payload or ".", chat_id=-100)
    return telegram.inject_update(
        {
            "channel_post": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": -200, "type": "channel", "title": "C"},
                "text": payload or ".",
            }
        }
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(action, min_size=40, max_size=90))
def test_random_updates_cause_no_error_and_no_bad_request(
    actions: list[tuple[str, int, str]],
) -> None:
    errors, bad_requests = asyncio.run(_scenario(actions))
    assert errors == []
    assert bad_requests == []
