"""The Zalo adapter stands beside the Telegram one: it imports no ``telegram``, no handlers."""

from __future__ import annotations

from pathlib import Path

from tests.test_architecture import _imports

ROOT = Path(__file__).resolve().parents[2]


def test_zalo_imports_no_telegram_and_no_wiring() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "zalo").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in {"telegram", "handlers", "bot"}
    ]
    assert offenders == []
