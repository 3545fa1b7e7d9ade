"""The local demo: the Bot API stand-in, the bot and a terminal chat, with no Telegram token.

You act as the admin or as a focal point; ``:help`` lists the demo's own commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr
from telegram import Update

from bot.app import WARM_CHARTS_KEY, build_application, start_polling, stop_polling
from bot.logging_setup import configure_logging
from bot.runtime import open_database, services_for
from bot.settings import DEFAULT_DATABASE_URL, Settings
from standin.telegram import FakeTelegram, SentMessage

DEMO_TOKEN = "100000:DEMO-token-for-the-local-stand-in"
DEMO_ADMIN_ID = 1
DEMO_DATABASE = "sqlite:///data/demo.sqlite3"
EXIT_CONFIG = 2
LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")

HELP = """Demo commands (anything else is sent to the bot as a message):
  :as admin        act as the admin (Telegram id 1)
  :as focal [N]    act as focal point N (default 1; ids 1001, 1002, ...)
  :as office       act as standing-office staff (id 2; grant the role first with
                   `python -m bot admins add 2 --role office`)
  :open            open the last invite link the bot showed (as /start <code>)
  :press N         press button N of the last message that has buttons
  :who             who you are now
  :help            this help
  :quit            leave the demo"""


@dataclass
class _Persona:
    user_id: int
    name: str


class TerminalChat:
    """Turns typed lines into updates for the stand-in and prints what the bot answers."""

    def __init__(self, telegram: FakeTelegram, out: TextIO) -> None:
        self.telegram = telegram
        self.out = out
        self.persona = _Persona(DEMO_ADMIN_ID, "Quản trị viên (demo)")
        self.last_link_code: str | None = None
        self.processed: dict[int, asyncio.Event] = {}
        self._printed = 0
        telegram.add_user(DEMO_ADMIN_ID, "Quản trị viên (demo)")
        telegram.add_user(2, "Cán bộ Văn phòng (demo)")

    def on_processed(self, update: object) -> None:
        if isinstance(update, Update):
            self.processed.setdefault(update.update_id, asyncio.Event()).set()

    def _print_new(self) -> None:
        for message in self.telegram.sent[self._printed :]:
            self._show(message)
        self._printed = len(self.telegram.sent)

    def _show(self, message: SentMessage) -> None:
        prefix = "  (edited) " if message.method.startswith("edit") else ""
        who = "bot → you" if message.chat_id == self.persona.user_id else f"bot → {message.chat_id}"
        body = message.plain_text or ""
        if message.method == "sendPhoto":
            body = f"[image: {message.file_name or 'photo'}] {body}"
        elif message.method == "sendDocument":
            body = f"[file: {message.file_name}] {body}"
        print(f"\n{prefix}[{who}]\n{body}", file=self.out)
        number = 1
        for row in message.buttons:
            labels = []
            for text, _data in row:
                labels.append(f"[{number}] {text}")
                number += 1
            print("   " + "   ".join(labels), file=self.out)
        match = LINK.search(body)
        if match:
            self.last_link_code = match.group(1)

    async def handle(self, line: str) -> bool:
        """Act on one typed line; False when the person wants to leave."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":"):
            return await self._demo_command(line)
        await self._send(line)
        return True

    async def _send(self, text: str) -> None:
        update_id = self.telegram.inject_message(self.persona.user_id, text)
        await self._wait(update_id)

    async def _wait(self, update_id: int) -> None:
        event = self.processed.setdefault(update_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), 15)
        self._print_new()

    async def _demo_command(self, line: str) -> bool:
        verb, *rest = line[1:].split()
        if verb in {"quit", "exit", "q"}:
            return False
        if verb == "help":
            print(HELP, file=self.out)
        elif verb == "who":
            print(f"you are {self.persona.name} (id {self.persona.user_id})", file=self.out)
        elif verb == "as" and rest:
            self._switch(rest)
        elif verb == "open":
            if self.last_link_code is None:
                print(
                    "no invite link seen yet: ask for one as admin with /invite <code>",
                    file=self.out,
                )
            else:
                await self._send(f"/start {self.last_link_code}")
        elif verb == "press" and rest and rest[0].isdigit():
            await self._press(int(rest[0]))
        else:
            print(HELP, file=self.out)
        return True

    def _switch(self, rest: list[str]) -> None:
        role = rest[0]
        if role == "admin":
            self.persona = _Persona(DEMO_ADMIN_ID, "Quản trị viên (demo)")
        elif role == "office":
            self.persona = _Persona(2, "Cán bộ Văn phòng (demo)")
        elif role == "focal":
            number = int(rest[1]) if len(rest) > 1 and rest[1].isdigit() else 1
            self.persona = _Persona(1000 + number, f"Đầu mối {number} (demo)")
            self.telegram.add_user(self.persona.user_id, self.persona.name)
        elif role.isdigit():
            self.persona = _Persona(int(role), f"Người dùng {role}")
            self.telegram.add_user(self.persona.user_id, self.persona.name)
        print(f"you are now {self.persona.name} (id {self.persona.user_id})", file=self.out)

    async def _press(self, number: int) -> None:
        seen: set[int] = set()
        for sent in reversed(self.telegram.messages_to(self.persona.user_id)):
            if sent.message_id in seen:
                continue
            seen.add(sent.message_id)
            current = self.telegram.message(self.persona.user_id, sent.message_id)
            rows = (current.get("reply_markup") or {}).get("inline_keyboard") or []
            flat = [button.get("callback_data") for row in rows for button in row]
            if flat:
                if not 1 <= number <= len(flat) or flat[number - 1] is None:
                    print(f"that message has buttons 1 to {len(flat)}", file=self.out)
                    return
                update_id = self.telegram.inject_callback(
                    self.persona.user_id, sent.message_id, str(flat[number - 1])
                )
                await self._wait(update_id)
                return
        print("no message with buttons yet", file=self.out)


def _read_lines(
    queue: asyncio.Queue[str | None], loop: asyncio.AbstractEventLoop, stream: TextIO
) -> None:
    for line in stream:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def _run(settings: Settings, stream: TextIO, out: TextIO) -> None:
    telegram = FakeTelegram(DEMO_TOKEN, bot_username="vstbpn_demo_bot")
    await telegram.start()
    demo_settings = settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(DEMO_TOKEN),
            "telegram_api_base_url": telegram.base_url,
            "telegram_api_base_file_url": telegram.base_file_url,
            "admin_ids": (*settings.admin_ids, DEMO_ADMIN_ID),
        }
    )
    db = open_database(demo_settings)
    services = services_for(demo_settings, db)
    services.units.ensure_default_catalogue()
    chat = TerminalChat(telegram, out)
    application = build_application(demo_settings, services, on_processed=chat.on_processed)
    application.bot_data[WARM_CHARTS_KEY] = True
    await start_polling(application, poll_timeout=5)
    chat._printed = len(telegram.sent)
    print("vstbpn-bot demo: a local stand-in of Telegram, no token needed.", file=out)
    print(HELP, file=out)
    print(
        f"\nyou are {chat.persona.name}. Try: /invite huyen-muong-te, then :as focal, :open",
        file=out,
    )
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(
        target=_read_lines, args=(queue, asyncio.get_running_loop(), stream), daemon=True
    ).start()
    try:
        while True:
            print(f"\n{chat.persona.name}> ", end="", file=out, flush=True)
            line = await queue.get()
            if line is None or not await chat.handle(line):
                break
    finally:
        await stop_polling(application)
        await telegram.stop()
        db.engine.dispose()
        print("\nbye", file=out)


def demo_database(settings: Settings, database_url: str | None) -> str | None:
    """The demo's database URL, or None when it would be someone else's.

    The demo creates demo units, grants admin rights to its made-up users and runs the
    reminder job, which marks the reminders it cannot deliver as failed: on a production
    database that is real damage. So it runs only on its own SQLite file, one whose name
    starts with "demo" (``data/demo.sqlite3`` unless ``--database`` names another), and a
    DATABASE_URL set to anything else stops it.
    """
    wanted = database_url or settings.database_url
    if database_url is None and settings.database_url == DEFAULT_DATABASE_URL:
        wanted = DEMO_DATABASE  # DATABASE_URL unset: the demo's own file
    prefix = "sqlite:///"
    if not wanted.startswith(prefix) or not Path(wanted[len(prefix) :]).name.startswith("demo"):
        return None
    return wanted


def run_demo(
    settings: Settings, *, database_url: str | None = None, stream: TextIO | None = None
) -> int:
    """Start everything locally and chat in the terminal until :quit or end of input."""
    demo_url = demo_database(settings, database_url)
    if demo_url is None:
        source = "--database" if database_url else "DATABASE_URL"
        print(
            f"configuration error: {source}: the demo runs only on its own database "
            f"({DEMO_DATABASE}, or a SQLite file whose name starts with demo), never the bot's",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    configure_logging([DEMO_TOKEN], level=30)
    settings = settings.model_copy(update={"database_url": demo_url})
    Path("data").mkdir(exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(settings, stream or sys.stdin, sys.stdout))
    return 0
