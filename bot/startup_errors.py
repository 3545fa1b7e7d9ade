"""Why the bot could not start, in one line that names the problem and never a secret.

A wrong token, a Bot API that cannot be reached or a database that cannot be opened are the
operator's to fix, not bugs: a traceback (which once carried the token) only hides the one
fact they need. ``python -m bot`` prints the line from ``explain`` and exits with status 2;
anything ``explain`` does not know stays a traceback, because that one is a bug.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from telegram.error import BadRequest, InvalidToken, NetworkError

EXIT_STARTUP = 2
# A bot token ("123456:ABC…", Telegram's and Zalo's shape) and a URL's password, wherever a
# library puts them in its message.
_TOKEN = re.compile(r"\b\d{3,}:[A-Za-z0-9_-]{8,}")
_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")


def explain(error: BaseException) -> str | None:
    """The one line for a failed start, or None when ``error`` is not an operator's problem."""
    if isinstance(error, InvalidToken):
        return "TELEGRAM_BOT_TOKEN: Telegram refused the token; check it with @BotFather"
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        return (
            "TELEGRAM_API_BASE_URL: cannot reach the Telegram Bot API "
            f"({_reason(error)}); check the address and the network"
        )
    if isinstance(error, SQLAlchemyError):
        return f"DATABASE_URL: cannot use the database ({_reason(error)})"
    return None


def _reason(error: BaseException) -> str:
    """The error's own words: its first line, without the library's links or any secret."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    text = text.split(" (Background on this error")[0]
    text = _PASSWORD.sub(r"\1***@", _TOKEN.sub("[token]", text))
    return text[:200]
