"""Webhook mode: Zalo POSTs each update to our URL with the secret we set in a header.

The secret is compared in constant time; a request without it is refused with 403 before its
body is read. Zalo may deliver an update more than once: the adapter applies each message id
once (a unique key in the database), so a repeated delivery is answered 200 and ignored.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web

from zalo.adapter import ZaloAdapter

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
DEFAULT_PATH = "/zalo/webhook"


def webhook_app(adapter: ZaloAdapter, secret: str, path: str = DEFAULT_PATH) -> web.Application:
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
        await adapter.handle_update(payload)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post(path, receive)
    return app
