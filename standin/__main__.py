"""Run the Bot API stand-in as a server, so the bot can run in another process against it.

    python -m standin --port 8081 --user 1001:Lan
    python -m standin --console 1001      # type as user 1001, see the bot's answers

Point the bot at the printed base URLs. Another process plays the users through the small JSON
control API under ``/_standin/`` (users, groups, messages, callbacks, click, updates, sent, state).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from standin.telegram import FakeTelegram, SentMessage


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m standin", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument("--bot-username", default="vstbpn_test_bot")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="ID[:NAME]",
        help="register a user (and their private chat) at start; repeatable",
    )
    parser.add_argument(
        "--console",
        type=int,
        metavar="USER_ID",
        help="read lines from stdin and send them as this user; '#N' presses button N",
    )
    return parser.parse_args(argv)


def _show(sent: SentMessage) -> None:
    """Print a bot message as the user would see it, buttons numbered for the console."""
    print(f"\n[{sent.method} → {sent.chat_id} #{sent.message_id}]")
    if sent.plain_text:
        print(sent.plain_text)
    if sent.file_name or sent.file_id:
        print(f"(file: {sent.file_name or sent.file_id})")
    number = 0
    for row in sent.buttons:
        cells = []
        for text, _ in row:
            number += 1
            cells.append(f"[{number}] {text}")
        print("   ".join(cells))
    sys.stdout.flush()


async def _console(fake: FakeTelegram, user_id: int) -> None:
    """Type as ``user_id``: plain lines are messages, '#N' presses button N of the last keyboard."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line_bytes = await reader.readline()
        if not line_bytes:
            return  # stdin closed: keep serving until Ctrl-C
        line = line_bytes.decode().rstrip("\n")
        if line.startswith("#") and line[1:].isdigit():
            _press(fake, user_id, int(line[1:]))
        elif line.strip():
            fake.inject_message(user_id, line)


def _press(fake: FakeTelegram, user_id: int, number: int) -> None:
    try:
        last = fake.last_message(user_id)
    except LookupError:
        print("(no message with buttons yet)")
        return
    buttons = [button for row in last.buttons for button in row]
    if not 1 <= number <= len(buttons):
        print(f"(no button {number}; there are {len(buttons)})")
        return
    text, data = buttons[number - 1]
    if last.reply_markup and "keyboard" in last.reply_markup:
        fake.inject_message(user_id, text)
    else:
        fake.inject_callback(user_id, last.message_id, data)


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeTelegram(args.token, bot_username=args.bot_username)
    for spec in args.user:
        user_id, _, name = spec.partition(":")
        fake.add_user(int(user_id), name or "Test")
    if args.console is not None and args.console not in {
        int(u.partition(":")[0]) for u in args.user
    }:
        fake.add_user(args.console, "Console")
    await fake.start(args.host, args.port)
    print(
        f"Telegram Bot API stand-in listening on {fake.url}\n"
        f"  token:         {fake.token}\n"
        f"  base_url:      {fake.base_url}\n"
        f"  base_file_url: {fake.base_file_url}\n"
        f"  control API:   {fake.url}/_standin/",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    console: asyncio.Task[None] | None = None
    if args.console is not None:
        fake.listeners.append(_show)
        console = asyncio.create_task(_console(fake, args.console))
    try:
        await stop.wait()
    finally:
        if console is not None:
            console.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await console
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    """Run until Ctrl-C."""
    asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
