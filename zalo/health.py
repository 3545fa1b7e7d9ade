"""When Zalo refuses the bot's token: say it once, mark the channel down, tell the office.

A token reset in Zalo Bot Manager (or a wrong one) stops every Zalo call with 401. Without
this, the poller died quietly and the process kept running as if all was well. Now one log
line says what happened (never the token), ``ChannelRouter.health`` shows Zalo as down (for
/status, and so nothing more is sent to it), and the office hears it on the other channels.
When Zalo is the process's only channel, ``bot.zalo_runner`` then stops with a non-zero status.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from domain.accounts import AccountService
from domain.channels import ChannelRouter, tell_staff
from domain.conversation import Reply
from domain.i18n import translator_for
from zalo import CHANNEL
from zalo.client import ZaloTokenError

log = logging.getLogger(__name__)


class ZaloDown:
    """The client's ``on_refused`` hook (it runs once per process)."""

    def __init__(self, accounts: AccountService, router: ChannelRouter, tz: ZoneInfo) -> None:
        self._accounts = accounts
        self._router = router
        self._tz = tz

    async def __call__(self, error: ZaloTokenError) -> None:
        reason = f"HTTP {error.status} on {error.method}"
        if not self._router.health.mark_down(CHANNEL, reason):
            return
        log.error(
            "Zalo refused the bot token (%s): the Zalo channel is down until ZALO_BOT_TOKEN "
            "is fixed and the bot restarted",
            reason,
        )
        others = self._router.channels - {CHANNEL}
        if others:
            told = await tell_staff(
                self._accounts,
                self._router,
                lambda staff: down_reply(error.status, staff.language, self._tz),
                channels=others,
            )
            log.info("told %d office members that Zalo is down", told)


def down_reply(status: int, language: str, tz: ZoneInfo | None = None) -> Reply:
    """The office's notice that Zalo is down, in its reader's language."""
    t = translator_for(language, tz)
    body = t(
        "Zalo refused the bot (error {status}): its token was revoked or is wrong. The bot "
        "can no longer receive or send Zalo messages, so focal points on Zalo get no "
        "answers, and their reminders wait. Please check the token in Zalo Bot Manager, "
        "set ZALO_BOT_TOKEN and restart the bot.",
        status=status,
    )
    return Reply(body, title=t("⚠️ Zalo is down"), expects_text=False)
