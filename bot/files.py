"""Files for channels that cannot carry them (Zalo): single-use, expiring, signed links.

The bot's own small web server holds each published file in memory until it is downloaded
once or expires. A link names a random id and its HMAC under a key made at start, so a link
that is reused, expired, forged or from before a restart gets 404 and nothing else.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from domain.conversation import FileOut

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 24 * 3600
MAX_FILES = 500  # the oldest go first: memory stays bounded whatever the office asks for


@dataclass
class _Shelved:
    file: FileOut
    expires: float


class FileShelf:
    """Publish a file under ``base_url``; serve it once at ``/files/<id>.<signature>/<name>``."""

    def __init__(
        self,
        base_url: str,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")  # set once the server is bound when not configured
        self._ttl = ttl_seconds
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._files: dict[str, _Shelved] = {}
        self._lock = asyncio.Lock()

    def _sign(self, file_id: str) -> str:
        return hmac.new(self._key, file_id.encode(), hashlib.sha256).hexdigest()[:32]

    async def publish(self, file: FileOut) -> str:
        """The link to ``file``: it works once, until it expires."""
        async with self._lock:
            now = self._clock()
            for stale in [k for k, v in self._files.items() if v.expires <= now]:
                del self._files[stale]
            while len(self._files) >= MAX_FILES:
                del self._files[next(iter(self._files))]
            file_id = secrets.token_urlsafe(18)
            self._files[file_id] = _Shelved(file, now + self._ttl)
        return f"{self.base_url}/files/{file_id}.{self._sign(file_id)}/{_safe_name(file.name)}"

    async def take(self, token: str) -> FileOut | None:
        """The file behind a link's token, once; None for anything not valid now."""
        file_id, _, signature = token.partition(".")
        if not hmac.compare_digest(signature, self._sign(file_id)):
            return None
        async with self._lock:
            shelved = self._files.pop(file_id, None)
        if shelved is None or shelved.expires <= self._clock():
            return None
        return shelved.file

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/files/{token}/{name}", self._serve)
        return app

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        file = await self.take(request.match_info["token"])
        if file is None:
            raise web.HTTPNotFound()
        kind = "image/png" if file.picture else _content_type(file.name)
        return web.Response(
            body=file.content,
            content_type=kind,
            headers={"Content-Disposition": f'attachment; filename="{_safe_name(file.name)}"'},
        )


class FileServer:
    """Run a ``FileShelf``'s web server on ``host:port`` (tests use port 0); ``routes`` adds
    GET routes before it starts (``/healthz``)."""

    def __init__(self, shelf: FileShelf, host: str, port: int) -> None:
        self.shelf = shelf
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self.address: tuple[str, int] | None = None
        self.routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {}

    async def start(self) -> None:
        app = self.shelf.app()
        for path, handler in self.routes.items():
            app.router.add_get(path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        bound = self._runner.addresses[0]
        self.address = (bound[0], bound[1])
        log.info("file links served on %s:%s", *self.address)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _safe_name(name: str) -> str:
    kept = "".join(c if c.isalnum() or c in "._-" else "-" for c in name)
    return kept.strip(".-") or "file"


def _content_type(name: str) -> str:
    if name.endswith(".xlsx"):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if name.endswith(".csv"):
        return "text/csv"
    return "application/octet-stream"
