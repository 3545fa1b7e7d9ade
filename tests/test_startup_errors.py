"""``python -m bot run`` that cannot start: status 2, one line naming the problem, no token.

Run as the operator would, in a subprocess against the Bot API stand-in (served by this test's
event loop while the process runs). The demo refuses a database that is not its own the
same way.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from standin.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
WRONG_TOKEN = "424242:WRONG-token-never-to-be-printed"
HANG_GUARD = 120


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "NO_PROXY": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        **values,
    }


async def _run(tmp_path: Path, *args: str, **values: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=_env(tmp_path, **values),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), HANG_GUARD)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _the_line(code: int, out: str, err: str, *, secret: str = WRONG_TOKEN) -> str:
    """Status 2, no traceback, the token nowhere; the problem's line (stderr's last)."""
    assert code == 2, err
    assert "Traceback" not in out + err
    for piece in {secret, secret.partition(":")[2]} - {""}:
        assert piece not in out + err
    lines = err.strip().splitlines()
    assert lines, "nothing said"
    return lines[-1]


async def test_a_wrong_token_exits_2_naming_the_token(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    code, out, err = await _run(
        tmp_path, "run", TELEGRAM_BOT_TOKEN=WRONG_TOKEN, TELEGRAM_API_BASE_URL=telegram.base_url
    )
    line = _the_line(code, out, err)
    assert line.startswith("startup error: TELEGRAM_BOT_TOKEN:")
    assert "refused" in line


async def test_an_unreachable_api_exits_2_naming_the_address_variable(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out, err = await _run(
        tmp_path,
        "run",
        TELEGRAM_BOT_TOKEN=WRONG_TOKEN,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}/bot",
    )
    line = _the_line(code, out, err)
    assert line.startswith("startup error: TELEGRAM_API_BASE_URL: cannot reach")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("nonsense", "DATABASE_URL"),
        ("sqlite:///{tmp}", "DATABASE_URL"),  # a folder, not a file: cannot be opened
        ("postgresql://office:s3cret-pw@127.0.0.1:1/vstbpn", "DATABASE_URL"),
    ],
    ids=["unparsable", "a-folder", "no-driver"],
)
async def test_a_bad_database_url_exits_2_naming_it(tmp_path: Path, url: str, said: str) -> None:
    code, out, err = await _run(
        tmp_path,
        "run",
        TELEGRAM_BOT_TOKEN=WRONG_TOKEN,
        DATABASE_URL=url.format(tmp=tmp_path),
    )
    line = _the_line(code, out, err)
    assert said in line
    assert "s3cret-pw" not in out + err


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("sqlite:///{tmp}/production.sqlite3", "the demo runs only on its own database"),
        # No driver here for a server: refused by the settings, before the demo is reached.
        ("postgresql://office:s3cret-pw@db.example.vn/vstbpn", "no driver"),
    ],
    ids=["another-sqlite-file", "a-server"],
)
async def test_the_demo_refuses_a_database_that_is_not_its_own(
    tmp_path: Path, value: str, said: str
) -> None:
    code, out, err = await _run(tmp_path, "demo", DATABASE_URL=value.format(tmp=tmp_path))
    line = _the_line(code, out, err, secret="s3cret-pw")
    assert line.startswith("configuration error: DATABASE_URL:")
    assert said in line
    assert err.strip() == line  # one line, nothing else
    assert not (tmp_path / "production.sqlite3").exists()  # not even created
    assert not (tmp_path / "data").exists()


async def test_the_demo_refuses_a_database_option_that_is_not_a_demo_file(tmp_path: Path) -> None:
    other = tmp_path / "vstbpn.sqlite3"
    code, out, err = await _run(tmp_path, "demo", "--database", f"sqlite:///{other}")
    line = _the_line(code, out, err)
    assert line.startswith("configuration error: --database:")
    assert not other.exists()
