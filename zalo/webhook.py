"""Webhook mode: Zalo POSTs each update to our URL with the secret we set in a header.

The secret is compared in constant time; a request without it is refused with 403 before its
body is read. Zalo may deliver an update more than once: the adapter applies each message id
once (a unique key in the database), so a repeated delivery is answered 200 and ignored.
A database that cannot take the update now (locked, full) is waited out for a while; past
that the answer is 503, so Zalo delivers it again instead of it being dropped.

``GET /healthz`` on the same server answers what ``python -m bot health`` says, as JSON.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import OperationalError

from storage.db import WriteHealth
from zalo.adapter import ZaloAdapter
from zalo.polling import handle_patiently

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
DEFAULT_PATH = "/zalo/webhook"
HEALTH_PATH = "/healthz"
# Tries of an update the database refuses (delays double from 50 ms: about 13 s in all).
WEBHOOK_WRITE_ATTEMPTS = 9

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def webhook_app(
    adapter: ZaloAdapter,
    secret: str,
    path: str = DEFAULT_PATH,
    *,
    writes: WriteHealth | None = None,
    on_update: Callable[[], None] | None = None,
    health: Handler | None = None,
) -> web.Application:
    """An aiohttp application with the webhook route (mount it, or run it on its own)."""
    if not secret:
        raise ValueError("a webhook needs a secret token")
    expected = secret.encode("utf-8")

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, expected):
            log.warning("Zalo webhook: refused a request without the right secret")
            return web.json_response({"ok": False, "description": "forbidden"}, status=403)
        try:
            payload = json.loads(await request.read())
        except ValueError:
            return web.json_response({"ok": False, "description": "not JSON"}, status=400)
        if on_update is not None:
            on_update()
        try:
            await handle_patiently(adapter, payload, writes=writes, attempts=WEBHOOK_WRITE_ATTEMPTS)
        except OperationalError:
            return web.json_response({"ok": False, "description": "try again later"}, status=503)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post(path, receive)
    if health is not None:
        app.router.add_get(HEALTH_PATH, health)
    return app
