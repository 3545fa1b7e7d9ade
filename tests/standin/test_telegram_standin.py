"""The Bot API stand-in, driven by the real python-telegram-bot over real sockets.

These pin the behaviour the end-to-end tests rely on: that the stand-in fails where Telegram
fails (HTML, lengths in UTF-16 units, callback_data in bytes, no-op edits, blocked users, rate
limits) with the HTTP status PTB turns into the right exception, and that long polling is prompt.
"""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from standin.html_check import EntityParseError, parse_html, utf16_len
from standin.telegram import FakeTelegram
from standin.telegram.errors import CONFLICT_OTHER_POLL

TOKEN = "123456:STANDIN-TEST"
USER = 1001
GROUP = -100200300


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours proxy variables; the stand-in is on loopback."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram(TOKEN)
    server.add_user(USER, "Lan", username="lan")
    server.add_group(GROUP, "Ban VSTBPN", "supergroup")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as client:
        yield client


def _keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d)] for d in data])


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x00" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# ------------------------------------------------------------------------------- basics


@pytest.mark.asyncio
async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "vstbpn_test_bot"
    assert me.first_name == "VSTBPN Bot"
    assert me.can_read_all_group_messages is False


@pytest.mark.asyncio
async def test_send_message_is_recorded_with_html_and_buttons(fake: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_message(
        USER,
        "<b>Hạn nộp</b>: 5/6 &amp; 5/12",
        parse_mode=ParseMode.HTML,
        reply_markup=_keyboard("report:6m", "report:year"),
    )
    assert message.text == "Hạn nộp: 5/6 & 5/12"
    assert message.entities[0].type == "bold"
    assert message.text_html == "<b>Hạn nộp</b>: 5/6 &amp; 5/12"
    sent = fake.last_message(USER)
    assert sent.method == "sendMessage"
    assert sent.message_id == message.message_id
    assert sent.text == "<b>Hạn nộp</b>: 5/6 &amp; 5/12"
    assert sent.plain_text == "Hạn nộp: 5/6 & 5/12"
    assert sent.buttons == [[("report:6m", "report:6m")], [("report:year", "report:year")]]
    assert fake.messages_to(USER) == [sent]
    assert fake.calls["sendMessage"] == 1
    assert fake.bad_requests == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "text",
    ["<b>x", "a < b", "a & b", "<i><b>x</i></b>", "<span>x</span>", "x<br/>y", "<p>x</p>"],
)
async def test_invalid_html_is_refused(fake: FakeTelegram, bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)parse entities"):
        await bot.send_message(USER, text, parse_mode=ParseMode.HTML)
    assert fake.sent == []
    assert fake.bad_requests[0][0] == "sendMessage"


@pytest.mark.asyncio
async def test_length_is_counted_in_utf16_units_after_entity_parsing(
    fake: FakeTelegram, bot: Bot
) -> None:
    await bot.send_message(USER, "a" * 4096)
    await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    await bot.send_message(USER, "😀" * 2048)  # 2048 characters, 4096 UTF-16 units
    for too_long in ("a" * 4097, "😀" * 2048 + "a"):
        with pytest.raises(BadRequest, match=r"(?i)too long"):
            await bot.send_message(USER, too_long)
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode=ParseMode.HTML)
    assert len(fake.sent) == 3


@pytest.mark.asyncio
async def test_callback_data_is_limited_in_bytes(fake: FakeTelegram, bot: Bot) -> None:
    vietnamese = "Báo cáo 6 tháng đầu năm 2023 của Huyện Mường Tè, Lai Châu"
    assert len(vietnamese) <= 64 < len(vietnamese.encode())
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER, "Chọn", reply_markup=_keyboard(vietnamese))
    await bot.send_message(USER, "Chọn", reply_markup=_keyboard("x" * 64))
    assert fake.bad_requests == [("sendMessage", "Bad Request: BUTTON_DATA_INVALID")]


@pytest.mark.asyncio
async def test_unknown_chat_is_not_found(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hello")
    await bot.send_message("@lan", "by username")
    assert fake.last_message(USER).text == "by username"


@pytest.mark.asyncio
async def test_blocked_user_answers_forbidden(fake: FakeTelegram, bot: Bot) -> None:
    fake.block_user(USER)
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(USER, "hello")
    assert fake.bad_requests == []  # a scenario, not a bug
    assert fake.faults == [("sendMessage", 403, "Forbidden: bot was blocked by the user")]
    updates = await bot.get_updates(timeout=0)
    assert updates[0].my_chat_member is not None
    assert updates[0].my_chat_member.new_chat_member.status == "kicked"


# ------------------------------------------------------------------------------- edits


@pytest.mark.asyncio
async def test_edit_applies_and_a_no_op_edit_is_refused(fake: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_message(USER, "Bước 1", reply_markup=_keyboard("next"))
    edited = await bot.edit_message_text(
        "<i>Bước 2</i>",
        chat_id=USER,
        message_id=message.message_id,
        parse_mode=ParseMode.HTML,
        reply_markup=_keyboard("done"),
    )
    assert isinstance(edited, type(message))
    assert edited.text == "Bước 2"
    now = fake.last_message(USER)
    assert (now.method, now.plain_text, now.buttons) == (
        "editMessageText",
        "Bước 2",
        [[("done", "done")]],
    )
    assert [m.method for m in fake.messages_to(USER)] == ["sendMessage", "editMessageText"]

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<i>Bước 2</i>",
            chat_id=USER,
            message_id=message.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=_keyboard("done"),
        )
    assert len(fake.bad_requests) == 1

    # Like Telegram, an edit that does not resend the keyboard removes it.
    await bot.edit_message_text("<i>Bước 2</i>", USER, message.message_id, parse_mode="HTML")
    assert fake.last_message(USER).buttons == []
    assert "reply_markup" not in fake.message(USER, message.message_id)

    await bot.edit_message_reply_markup(USER, message.message_id, reply_markup=_keyboard("x"))
    assert fake.last_message(USER).plain_text == "Bước 2"
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)


@pytest.mark.asyncio
async def test_delete_message(fake: FakeTelegram, bot: Bot) -> None:
    first = await bot.send_message(USER, "one")
    await bot.send_message(USER, "two")
    last = await bot.send_message(USER, "three")
    assert await bot.delete_message(USER, last.message_id)
    assert fake.last_message(USER).text == "two"
    with pytest.raises(BadRequest, match=r"(?i)not found"):
        await bot.delete_message(USER, last.message_id)
    assert fake.message(USER, first.message_id)["text"] == "one"


# ------------------------------------------------------------------------------- updates


@pytest.mark.asyncio
async def test_injected_command_arrives_with_entity_and_offset_confirms(
    fake: FakeTelegram, bot: Bot
) -> None:
    update_id = fake.inject_message(USER, "/start abc")
    assert update_id == 1
    updates = await bot.get_updates(timeout=1)
    assert [u.update_id for u in updates] == [1]
    message = updates[0].message
    assert message is not None
    assert message.text == "/start abc"
    assert message.entities[0].type == "bot_command"
    assert (message.entities[0].offset, message.entities[0].length) == (0, 6)
    assert message.from_user is not None and message.from_user.language_code == "vi"

    assert [u.update_id for u in await bot.get_updates(offset=1, timeout=0)] == [1]
    assert await bot.get_updates(offset=2, timeout=0) == ()
    assert fake.pending_update_count == 0
    assert fake.inject_message(USER, "hi", chat_id=GROUP) == 2


@pytest.mark.asyncio
async def test_long_poll_times_out_empty_and_wakes_promptly(fake: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 2

    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    injected = time.monotonic()
    fake.inject_message(USER, "hello")
    updates = await poll
    assert time.monotonic() - injected < 0.2
    assert updates[0].message is not None and updates[0].message.text == "hello"


@pytest.mark.asyncio
async def test_a_newer_get_updates_terminates_the_older_with_conflict(
    fake: FakeTelegram, bot: Bot
) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    # A second bot instance (PTB's getUpdates pool has a single connection per Bot).
    async with Bot(TOKEN, base_url=fake.base_url) as second:
        assert await second.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
        await older
    assert fake.bad_requests == [("getUpdates", CONFLICT_OTHER_POLL)]


@pytest.mark.asyncio
async def test_callback_query_is_answered_once(fake: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_message(USER, "Chọn", reply_markup=_keyboard("yes", "no"))
    with pytest.raises(LookupError, match=r"(?i)no button"):
        fake.inject_callback(USER, message.message_id, "maybe")
    fake.inject_callback(USER, message.message_id, "yes")
    (update,) = await bot.get_updates(timeout=1)
    query = update.callback_query
    assert query is not None and query.data == "yes"
    assert query.message is not None and query.message.message_id == message.message_id
    assert fake.unanswered_callbacks != []

    assert await bot.answer_callback_query(query.id, text="Đã ghi nhận")
    assert fake.answered_callbacks[0]["text"] == "Đã ghi nhận"
    assert fake.unanswered_callbacks == []
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)

    fake.click(USER, "no")
    (_, update) = await bot.get_updates(timeout=1)
    assert update.callback_query is not None and update.callback_query.data == "no"


@pytest.mark.asyncio
async def test_commands_are_stored_by_scope_and_language(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Bắt đầu")], language_code="vi")
    await bot.set_my_commands(
        [BotCommand("invite", "Mời đầu mối")], scope=BotCommandScopeChat(USER)
    )
    assert fake.commands[('{"type": "default"}', "vi")] == [
        {"command": "start", "description": "Bắt đầu"}
    ]
    assert fake.commands[(f'{{"chat_id": {USER}, "type": "chat"}}', "")][0]["command"] == "invite"
    commands = await bot.get_my_commands(scope=BotCommandScopeChat(USER))
    assert [c.command for c in commands] == ["invite"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(USER))
    assert await bot.get_my_commands(scope=BotCommandScopeChat(USER)) == ()


# ------------------------------------------------------------------------------- limits


@pytest.mark.asyncio
async def test_rate_limits_answer_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.enforce_rate_limits(per_chat_per_second=1, burst=3)
    for n in range(3):
        await bot.send_message(USER, f"burst {n}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "one too many")
    retry_after = caught.value.retry_after  # an int unless PTB_TIMEDELTA is set
    assert (retry_after if isinstance(retry_after, int) else retry_after.total_seconds()) >= 1
    assert fake.rate_limited == 1
    await bot.send_message(GROUP, "other chats are not limited by this one")
    assert fake.bad_requests == []


@pytest.mark.asyncio
async def test_injected_faults_are_not_bad_requests(fake: FakeTelegram, bot: Bot) -> None:
    fake.inject_fault("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "x")
    fake.inject_fault("*", status=502, times=1)
    with pytest.raises(Exception, match=r"(?i)Bad Gateway"):
        await bot.get_me()
    await bot.send_message(USER, "ok now")
    assert fake.bad_requests == []
    assert [status for _, status, _ in fake.faults] == [429, 502]


# ------------------------------------------------------------------------------- files


@pytest.mark.asyncio
async def test_send_document_upload_is_stored_and_downloadable(
    fake: FakeTelegram, bot: Bot
) -> None:
    content = b"PK\x03\x04 spreadsheet bytes"
    message = await bot.send_document(
        USER, content, filename="bao-cao.xlsx", caption="<b>Báo cáo</b>", parse_mode="HTML"
    )
    assert message.document is not None
    assert message.document.file_name == "bao-cao.xlsx"
    assert message.caption == "Báo cáo"
    sent = fake.last_message(USER)
    assert (sent.method, sent.file_bytes, sent.file_name) == (
        "sendDocument",
        content,
        "bao-cao.xlsx",
    )
    assert sent.file_id == message.document.file_id
    assert sent.plain_text == "Báo cáo"

    file = await bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == content
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_document(USER, b"x", filename="a.txt", caption="c" * 1025)


@pytest.mark.asyncio
async def test_send_photo_by_upload_then_by_file_id(fake: FakeTelegram, bot: Bot) -> None:
    uploaded = await bot.send_photo(USER, _png(40, 30), filename="qr.png")
    assert (uploaded.photo[-1].width, uploaded.photo[-1].height) == (40, 30)
    assert fake.last_message(USER).file_bytes == _png(40, 30)

    file_id = uploaded.photo[-1].file_id
    again = await bot.send_photo(GROUP, file_id, caption="QR")
    assert again.photo[-1].file_id == file_id
    sent = fake.last_message(GROUP)
    assert (sent.method, sent.file_id, sent.file_bytes, sent.text) == (
        "sendPhoto",
        file_id,
        None,
        "QR",
    )
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(USER, "no-such-file-id")


@pytest.mark.asyncio
async def test_copy_a_users_document_to_a_group(fake: FakeTelegram, bot: Bot) -> None:
    file_id = fake.add_file(b"%PDF-1.7", "bao-cao.pdf")
    fake.inject_message(USER, None, document=fake.file_object(file_id), caption="Báo cáo quý")
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.document is not None
    assert update.message.document.mime_type == "application/pdf"
    copied = await bot.copy_message(GROUP, USER, update.message.message_id)
    sent = fake.last_message(GROUP)
    assert (sent.method, sent.message_id, sent.file_id, sent.text) == (
        "copyMessage",
        copied.message_id,
        file_id,
        "Báo cáo quý",
    )
    forwarded = await bot.forward_message(GROUP, USER, update.message.message_id)
    assert forwarded.forward_origin is not None
    received = await bot.get_file(file_id)
    assert bytes(await received.download_as_bytearray()) == b"%PDF-1.7"


# ------------------------------------------------------------------------------- raw HTTP


@pytest.mark.asyncio
async def test_raw_http_envelope_and_parameter_checks(fake: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=fake.url, trust_env=False) as client:
        answer = await client.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": USER, "text": "j"})
        assert answer.status_code == 200 and answer.json()["result"]["text"] == "j"
        answer = await client.get(f"/bot{TOKEN}/sendMessage", params={"chat_id": USER, "text": "q"})
        assert answer.json()["ok"] is True
        answer = await client.post(f"/bot{TOKEN}/sendMessage", data={"chat_id": str(USER)})
        assert answer.status_code == 400
        assert answer.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: message text is empty",
        }
        answer = await client.post(
            f"/bot{TOKEN}/sendMessage",
            data={"chat_id": str(USER), "text": "x", "reply_markup": "{not json"},
        )
        assert answer.status_code == 400
        assert (await client.post("/botWRONG:TOKEN/getMe")).status_code == 401
        assert (await client.post(f"/bot{TOKEN}/noSuchMethod")).status_code == 404
        answer = await client.post(f"/bot{TOKEN}/setMyDescription", data={"description": "d"})
        assert answer.json() == {"ok": True, "result": True}
        answer = await client.post(
            f"/bot{TOKEN}/sendmessage", data={"chat_id": "1001", "text": "lc"}
        )
        assert answer.status_code == 200  # method names are case-insensitive
    assert fake.calls["sendMessage"] == 5


@pytest.mark.asyncio
async def test_the_bot_api_spec_checks_parameters(fake: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=f"{fake.base_url}{TOKEN}", trust_env=False) as client:
        answer = await client.post("/sendMessage", data={"text": "no chat"})
        assert answer.json()["description"] == "Bad Request: chat_id is empty"
        answer = await client.post("/deleteMessage", data={"chat_id": USER, "message_id": "x"})
        assert answer.status_code == 400
        assert "message_id" in answer.json()["description"]
        answer = await client.post("/sendSticker", data={"chat_id": USER, "sticker": "s"})
        assert answer.json()["description"].endswith("not supported by the Bot API stand-in")
        answer = await client.post("/pinChatMessage", data={"chat_id": USER, "message_id": 1})
        assert answer.json() == {"ok": True, "result": True}
    assert len(fake.bad_requests) == 3


@pytest.mark.asyncio
async def test_bad_token_is_invalid_token_for_ptb(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=fake.base_url):
            pass
    assert fake.bad_requests == [("getMe", "Unauthorized")]


# ------------------------------------------------------------------------------- application


@pytest.mark.asyncio
async def test_a_polling_application_answers_a_command(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        await update.effective_message.reply_html(
            f"Xin chào <b>{update.effective_user.first_name}</b>!",
            reply_markup=_keyboard("menu"),
            do_quote=True,
        )

    app: Application = (  # type: ignore[type-arg]
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        fake.inject_message(USER, "/start")
        await fake.wait_for_sent(1)
        reply = fake.last_message(USER)
        assert reply.plain_text == "Xin chào Lan!"
        assert reply.params["reply_parameters"]["message_id"] == 1
        assert fake.message(USER, reply.message_id)["reply_to_message"]["text"] == "/start"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert fake.pending_update_count == 0  # the last getUpdates confirmed the offset
    assert fake.bad_requests == []
    assert fake.calls["getMe"] == 1


# ------------------------------------------------------------------------------- parser


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("<b>x</b> y", "x y", [("bold", 0, 1)]),
        ("😀<i>ạ</i>", "😀ạ", [("italic", 2, 1)]),
        ("a &lt; b &gt; c &amp; &quot;d&quot; &#128512;", 'a < b > c & "d" 😀', []),
        ('<a href="https://t.me/x?start=a&amp;b">l</a>', "l", [("text_link", 0, 1)]),
        ('<pre><code class="language-python">x</code></pre>', "x", [("pre", 0, 1)]),
        (
            "<tg-spoiler>s</tg-spoiler><blockquote expandable>q</blockquote>",
            "sq",
            [("spoiler", 0, 1), ("expandable_blockquote", 1, 1)],
        ),
        ("a > b", "a > b", []),
    ],
)
def test_html_parser(source: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    parsed = parse_html(source)
    assert parsed.text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == entities


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<i><b>x</i></b>", 'Unmatched end tag at byte offset 7, expected "</b>", found "</i>"'),
        ("ạ <u>x</s>", 'Unmatched end tag at byte offset 8, expected "</u>", found "</s>"'),
    ],
)
def test_html_parser_errors_name_the_byte_offset(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert str(caught.value) == error


def test_utf16_len() -> None:
    assert utf16_len("ạ😀") == 3
