"""The Bot API spec every request is checked against: its methods, their parameters and types.

Read from the vendored copy in ``standin/spec/`` (see its README), so every clone checks the
same way; a missing or broken spec raises :class:`SpecError` rather than check nothing.
"""

from __future__ import annotations

import contextlib
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from standin.telegram.errors import JSON, bad

SPEC_NAME = "telegram-bot-api.json"
#: The Bot API methods and parameters every request is checked against: vendored (see
#: ``standin/spec/README.md``), so every clone checks the same way.
DEFAULT_SPEC_PATH = Path(__file__).resolve().parent.parent / "spec" / SPEC_NAME
REFRESH_COMMAND = "python -m standin.spec_refresh /path/to/shared/spec"


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    required: frozenset[str]
    types: dict[str, tuple[str, ...]]
    returns: tuple[str, ...]


def source_name(path: Path) -> str:
    """Name a spec file by its last three parts ("shared/spec/telegram-bot-api.json").

    Enough to recognise it in a header or an error, and nothing of this machine's layout.
    """
    return "/".join(path.resolve().parts[-3:])


class SpecError(RuntimeError):
    """The Bot API spec cannot be read: the stand-in refuses to run with its checks off."""


@functools.cache
def load_spec(path: Path) -> dict[str, MethodSpec]:
    """Read the Bot API once per process; raise :class:`SpecError` rather than check nothing."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        methods: dict[str, MethodSpec] = {}
        for name, method in data["methods"].items():
            fields = method.get("fields") or []
            methods[name.lower()] = MethodSpec(
                name=name,
                required=frozenset(f["name"] for f in fields if f.get("required")),
                types={f["name"]: tuple(f.get("types") or ()) for f in fields},
                returns=tuple(method.get("returns") or ()),
            )
    except (OSError, ValueError, LookupError, TypeError, AttributeError) as error:
        # strerror, not str(error): the message names the file without this machine's layout.
        reason = error.strerror if isinstance(error, OSError) else repr(error)
        raise SpecError(
            f"cannot load the Bot API spec {source_name(path)}: {reason}; "
            f"refresh it with `{REFRESH_COMMAND}`"
        ) from error
    if not methods:
        raise SpecError(f"the Bot API spec {source_name(path)} lists no methods")
    return methods


def decode(key: str, value: str, spec: MethodSpec | None) -> Any:
    """Turn a form string into the type the Bot API declares for the parameter.

    A method the spec does not know is answered 404 anyway: its values stay strings.
    """
    types = spec.types.get(key) if spec is not None else None
    if not types:
        return value
    if "String" in types or "InputFile" in types:
        if "Integer" in types:
            with contextlib.suppress(ValueError):
                return int(value)
        return value
    if types == ("Integer",):
        try:
            return int(value)
        except ValueError:
            raise bad(f"invalid {key} specified: {value!r} is not an Integer") from None
    if types == ("Float",):
        try:
            return float(value)
        except ValueError:
            raise bad(f"invalid {key} specified: {value!r} is not a Float") from None
    if types == ("Boolean",):
        lowered = value.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0", ""):
            return False
        raise bad(f"invalid {key} specified: {value!r} is not a Boolean")
    try:
        return json.loads(value)
    except ValueError:
        if key == "reply_markup":
            raise bad("can't parse reply keyboard markup JSON object") from None
        raise bad(f"can't parse {key} JSON object") from None


def check_required(spec: MethodSpec | None, params: JSON) -> None:
    """Refuse a call that leaves out a parameter the method requires, as Telegram words it."""
    if spec is None:
        return
    for name in sorted(spec.required):
        if params.get(name) in (None, ""):
            raise bad("message text is empty" if name == "text" else f"{name} is empty")
