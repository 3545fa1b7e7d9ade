"""What a conversation step shows, independent of the channel that shows it.

Telegram renders ``actions`` as inline buttons; a channel without buttons (Zalo) numbers them
and accepts the number or the label typed back. Texts are plain or ``Rich`` (light marks):
the adapter escapes or drops them. A file is sent as a document or picture on Telegram and
as a download link on Zalo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.rich import Text


@dataclass(frozen=True)
class Action:
    """A choice the user can make: ``code`` is short ASCII (it travels in callback data)."""

    label: str
    code: str


@dataclass(frozen=True)
class Reply:
    """One message to send: an optional bold title, the body, and rows of actions."""

    body: Text
    title: Text | None = None
    actions: tuple[tuple[Action, ...], ...] = ()
    # The step the actions belong to; a press with another step is stale.
    step: int | None = None
    # Typed answers make sense (the channel may show a hint) — False for pure menus.
    expects_text: bool = True
    # Redraw the message whose button was pressed instead of sending a new one.
    replace: bool = False
    # Who takes a press of these actions: the report forms, or announcements ("bc").
    scope: str = "form"
    # A file sent after the text (the export, the chart, a QR code).
    file: FileOut | None = None


@dataclass(frozen=True)
class FileOut:
    """A file for the reader: a picture (chart, QR code) or a document (the export)."""

    name: str
    content: bytes
    picture: bool = False
    caption: Text = ""


@dataclass
class Outcome:
    """What a conversation call produced: replies to the writer and notices for others."""

    replies: list[Reply] = field(default_factory=list)
    notices: list[object] = field(default_factory=list)
    # A button press that was stale or not allowed: a short toast instead of a message.
    alert: str | None = None
    # The writer's role or language changed: a channel with command menus redraws them.
    menu_changed: bool = False
    # The pressed message's choices are used up (a "Received" press): a channel removes them.
    clear_choices: bool = False


def rows(actions: list[Action], per_row: int) -> tuple[tuple[Action, ...], ...]:
    """Lay actions out in rows of ``per_row``."""
    return tuple(tuple(actions[i : i + per_row]) for i in range(0, len(actions), per_row))
