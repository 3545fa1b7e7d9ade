"""What a conversation step shows, independent of the channel that shows it.

Telegram renders ``actions`` as inline buttons; a channel without buttons (Zalo) numbers them
and accepts the number or the label typed back. Texts are plain: the adapter escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Action:
    """A choice the user can make: ``code`` is short ASCII (it travels in callback data)."""

    label: str
    code: str


@dataclass(frozen=True)
class Reply:
    """One message to send: an optional bold title, the body, and rows of actions."""

    body: str
    title: str | None = None
    actions: tuple[tuple[Action, ...], ...] = ()
    # The step the actions belong to; a press with another step is stale.
    step: int | None = None
    # Typed answers make sense (the channel may show a hint) — False for pure menus.
    expects_text: bool = True
    # Redraw the message whose button was pressed instead of sending a new one.
    replace: bool = False


@dataclass
class Outcome:
    """What a conversation call produced: replies to the writer and notices for others."""

    replies: list[Reply] = field(default_factory=list)
    notices: list[object] = field(default_factory=list)
    # A button press that was stale or not allowed: a short toast instead of a message.
    alert: str | None = None


def rows(actions: list[Action], per_row: int) -> tuple[tuple[Action, ...], ...]:
    """Lay actions out in rows of ``per_row``."""
    return tuple(tuple(actions[i : i + per_row]) for i in range(0, len(actions), per_row))
