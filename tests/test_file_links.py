"""Download links for channels without files: once, before they expire, never forged."""

from __future__ import annotations

import aiohttp

from bot.files import FileServer, FileShelf
from domain.conversation import FileOut


class Ticking:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _get(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


async def test_a_link_works_once_then_404_and_expires_and_cannot_be_forged() -> None:
    clock = Ticking()
    shelf = FileShelf("", ttl_seconds=60, clock=clock)
    server = FileServer(shelf, "127.0.0.1", 0)
    await server.start()
    try:
        assert server.address is not None
        shelf.base_url = "http://{}:{}".format(*server.address)
        report = FileOut("six_month-2023.xlsx", b"PK\x03\x04 workbook bytes")
        url = await shelf.publish(report)
        assert url.endswith("/six_month-2023.xlsx")
        assert await _get(url) == (200, report.content)
        assert (await _get(url))[0] == 404  # used once: gone

        late = await shelf.publish(report)
        clock.now += 61
        assert (await _get(late))[0] == 404  # expired

        kept = await shelf.publish(report)
        token = kept.split("/files/")[1].split("/")[0]
        file_id, _, signature = token.partition(".")
        forged = kept.replace(signature, "0" * len(signature))
        assert (await _get(forged))[0] == 404
        other = kept.replace(file_id, "A" * len(file_id))
        assert (await _get(other))[0] == 404
        assert (await _get(kept))[0] == 200  # the forgeries did not use it up
    finally:
        await server.stop()


async def test_links_from_before_a_restart_are_refused() -> None:
    first = FileShelf("http://x")
    url = await first.publish(FileOut("a.png", b"png", picture=True))
    token = url.split("/files/")[1].split("/")[0]
    assert await FileShelf("http://x").take(token) is None  # a new key after a restart
    assert (await first.take(token)) is not None
