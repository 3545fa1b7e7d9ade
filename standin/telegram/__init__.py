"""A local stand-in of the Telegram Bot API server (see :mod:`standin.telegram.server`).

| module | what it holds |
|---|---|
| ``server`` | :class:`FakeTelegram`: the HTTP server, its control API, the dispatch of calls |
| ``scenario`` | setting up users and chats, reading what the bot sent |
| ``updates`` | the update queue and getUpdates long polling, webhooks |
| ``methods`` | the Bot API methods: send, edit, delete, copy, answer callbacks, commands |
| ``files`` | uploads, file_ids, URLs, getFile and downloads |
| ``faults`` | rate limits, injected and random faults |
| ``state`` | what the stand-in remembers, and lookups of users and chats |
| ``validation`` | Telegram's limits and checks of text, captions and keyboards |
| ``records`` | :class:`SentMessage` and :class:`Upload`, what tests read |
| ``api_spec`` | the vendored Bot API spec requests are checked against |
| ``errors`` | error answers with Telegram's descriptions |
"""

from standin.telegram.records import SentMessage, Upload
from standin.telegram.server import FakeTelegram

__all__ = ["FakeTelegram", "SentMessage", "Upload"]
