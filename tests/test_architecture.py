"""The domain and storage know no transport: a walk over their imports proves it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRANSPORT_FREE = ["domain", "storage", "scheduler"]
FORBIDDEN = ("telegram", "handlers", "bot")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_and_storage_import_no_transport() -> None:
    offenders = []
    for package in TRANSPORT_FREE:
        for path in (ROOT / package).rglob("*.py"):
            for name in _imports(path):
                if name.split(".")[0] in FORBIDDEN:
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_command_layer_knows_no_channel() -> None:
    """Commands are declared once for every channel: no Telegram, no Zalo, no wiring."""
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "commands").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in {"telegram", "handlers", "bot", "zalo"}
    ]
    assert offenders == []


def test_adapters_keep_to_their_channel() -> None:
    """Telegram's adapter imports nothing of Zalo's, and Zalo's nothing of Telegram's."""
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package, foreign in (("handlers", {"zalo"}), ("zalo", {"telegram", "handlers", "bot"}))
        for path in (ROOT / package).rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in foreign
    ]
    assert offenders == []


def test_storage_does_not_import_domain() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "storage").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] == "domain"
    ]
    assert offenders == []


def _message_ids(folder: str) -> set[str]:
    from babel.messages.extract import extract_from_dir

    from bot.i18n_tools import KEYWORDS

    keywords: dict[str, tuple[int, ...] | None] = {k.split(":")[0]: None for k in KEYWORDS}
    found = extract_from_dir(
        str(ROOT / folder), method_map=[("**.py", "python")], keywords=keywords
    )
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def test_no_reply_text_is_written_twice_across_the_adapters() -> None:
    """A text both channels say lives in the command layer, not in each adapter."""
    assert _message_ids("handlers") & _message_ids("zalo") == set()
