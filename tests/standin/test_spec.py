"""The Bot API spec the Telegram stand-in checks against: vendored, refreshable, never optional.

Where the spec used to be missing the stand-in checked nothing and every test still passed; these
pin that it is shipped in the project, that the checks come from it, and that losing it is an
error rather than a quieter test run.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from standin.spec_refresh import main, refresh, render, trim
from standin.telegram import FakeTelegram
from standin.telegram.api_spec import DEFAULT_SPEC_PATH, REFRESH_COMMAND, SPEC_NAME, SpecError

TOKEN = "123456:SPEC-TEST"
USER = 1001

# A spec in the published shape, descriptions and all, where sendMessage also demands a
# parameter the real one does not: a refusal for it can only come from the file.
FULL_SPEC: dict[str, Any] = {
    "version": "Bot API 0.1",
    "release_date": "January 1, 2030",
    "changelog": "https://core.telegram.org/bots/api#january-1-2030",
    "methods": {
        "getMe": {"name": "getMe", "description": ["A simple method."], "returns": ["User"]},
        "sendMessage": {
            "name": "sendMessage",
            "href": "https://core.telegram.org/bots/api#sendmessage",
            "description": ["Use this method to send text messages."],
            "returns": ["Message"],
            "fields": [
                {"name": "chat_id", "types": ["Integer", "String"], "required": True},
                {"name": "text", "types": ["String"], "required": True, "description": "…"},
                {"name": "footnote", "types": ["String"], "required": True},
                {"name": "reply_markup", "types": ["InlineKeyboardMarkup"], "required": False},
            ],
        },
    },
    "types": {"User": {"name": "User", "fields": []}},
}


@pytest.fixture
def full_spec(tmp_path: Path) -> Path:
    folder = tmp_path / "shared" / "spec"
    folder.mkdir(parents=True)
    (folder / SPEC_NAME).write_text(json.dumps(FULL_SPEC), encoding="utf-8")
    return folder


@pytest.fixture
async def strict(tmp_path: Path, full_spec: Path) -> AsyncIterator[FakeTelegram]:
    """A stand-in that checks against a refreshed copy of FULL_SPEC."""
    vendored = tmp_path / "vendored" / SPEC_NAME
    refresh(full_spec, vendored, today=date(2030, 1, 2))
    server = FakeTelegram(TOKEN, spec_path=vendored)
    server.add_user(USER, "Lan")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def test_the_vendored_spec_ships_in_the_package_with_its_source_and_date() -> None:
    root = Path(__file__).resolve().parents[2]
    assert root / "standin" / "spec" / SPEC_NAME == DEFAULT_SPEC_PATH
    header = json.loads(DEFAULT_SPEC_PATH.read_text(encoding="utf-8"))
    assert header["source"] == "shared/spec/telegram-bot-api.json"
    assert len(header["source_sha256"]) == 64
    assert header["version"].startswith("Bot API ")
    date.fromisoformat(header["vendored_on"])
    assert header["refresh"] == REFRESH_COMMAND
    assert {"sendMessage", "editMessageText", "answerCallbackQuery"} <= set(header["methods"])
    readme = (DEFAULT_SPEC_PATH.parent / "README.md").read_text(encoding="utf-8")
    assert header["version"] in readme and header["vendored_on"] in readme
    assert REFRESH_COMMAND.split(" /")[0] in readme
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert 'standin = ["spec/*.json"]' in pyproject  # shipped with the package, not only here


def test_a_default_stand_in_checks_against_the_vendored_spec() -> None:
    assert FakeTelegram(TOKEN).spec["sendmessage"].required == {"chat_id", "text"}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "No such file or directory"),
        ("{not json", "JSONDecodeError"),
        ('{"version": "Bot API 9"}', "KeyError"),
        ('{"methods": {}}', "lists no methods"),
    ],
)
def test_a_missing_or_broken_spec_raises(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "broken" / SPEC_NAME
    if content is not None:
        path.parent.mkdir()
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SpecError, match=problem) as raised:
        FakeTelegram(TOKEN, spec_path=path)
    message = str(raised.value)
    assert SPEC_NAME in message
    assert str(tmp_path) not in message  # no machine-specific path in what is printed
    if content is None:
        assert REFRESH_COMMAND in message


async def test_the_stand_in_refuses_what_the_spec_forbids(strict: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=f"{strict.base_url}{TOKEN}", trust_env=False) as client:
        refused = await client.post("/sendMessage", data={"chat_id": USER, "text": "Chào"})
        assert refused.status_code == 400
        assert refused.json()["description"] == "Bad Request: footnote is empty"
        sent = await client.post(
            "/sendMessage", data={"chat_id": USER, "text": "Chào", "footnote": "1"}
        )
        assert sent.json()["ok"] is True
        # Settings calls are known from the spec too: not in this one, so unknown (404).
        unknown = await client.post("/setMyDescription", data={"description": "d"})
        assert unknown.status_code == 404
    assert strict.bad_requests == [
        ("sendMessage", "Bad Request: footnote is empty"),
        ("setMyDescription", "Not Found"),
    ]
    assert strict.sent[-1].plain_text == "Chào"


def test_refresh_keeps_what_the_stand_in_checks_and_records_provenance(
    tmp_path: Path, full_spec: Path
) -> None:
    output = tmp_path / "out" / SPEC_NAME
    written = refresh(full_spec / SPEC_NAME, output, today=date(2030, 1, 2))
    stored = json.loads(output.read_text(encoding="utf-8"))
    assert stored == written
    assert stored["source"] == "shared/spec/telegram-bot-api.json"  # not where it is here
    assert (stored["version"], stored["release_date"]) == ("Bot API 0.1", "January 1, 2030")
    assert stored["vendored_on"] == "2030-01-02"
    assert stored["methods"]["getMe"] == {"returns": ["User"], "fields": []}
    assert stored["methods"]["sendMessage"]["fields"][1] == {
        "name": "text",
        "types": ["String"],
        "required": True,
    }
    assert "types" not in stored and "description" not in output.read_text(encoding="utf-8")
    # The refreshed copy checks exactly what the full spec would.
    assert (
        FakeTelegram(TOKEN, spec_path=output).spec
        == FakeTelegram(TOKEN, spec_path=full_spec / SPEC_NAME).spec
    )


def test_render_is_json_with_one_parameter_per_line() -> None:
    trimmed = trim(FULL_SPEC, source="x", sha256="0" * 64, today=date(2030, 1, 2))
    text = render(trimmed)
    assert json.loads(text) == trimmed
    assert '   {"name": "footnote", "types": ["String"], "required": true},\n' in text


def test_refresh_command_line(
    tmp_path: Path, full_spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "cli" / SPEC_NAME
    assert main([str(full_spec), "--output", str(output)]) == 0
    assert "Bot API 0.1 (January 1, 2030), 2 methods" in capsys.readouterr().out
    assert json.loads(output.read_text(encoding="utf-8"))["methods"].keys() == {
        "getMe",
        "sendMessage",
    }
    assert main([str(tmp_path / "nowhere"), "--output", str(output)]) == 1
    assert "cannot refresh the Bot API spec" in capsys.readouterr().err
