"""Refresh the vendored Bot API spec that the Telegram stand-in checks requests against.

Usage::

    python -m standin.spec_refresh /path/to/shared/spec     # the folder, or its JSON file

The machine-readable Bot API (``telegram-bot-api.json``, about 900 kB, mostly descriptions)
used to be read from a ``shared/`` folder beside the repository; where that folder was missing
the stand-in silently stopped checking. The stand-in needs only each method's parameters (name,
types, required) and its return type, so this keeps those, records where they came from and
when, and writes ``standin/spec/telegram-bot-api.json``: every clone checks the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from standin.telegram.api_spec import DEFAULT_SPEC_PATH, REFRESH_COMMAND, SPEC_NAME, source_name


def trim(full: Mapping[str, Any], *, source: str, sha256: str, today: date) -> dict[str, Any]:
    """Keep what the stand-in checks (parameters and return types), with provenance.

    The result has the shape of the full spec, so one loader reads either.
    """
    methods: dict[str, Any] = {}
    for name, method in full["methods"].items():
        methods[name] = {
            "returns": list(method.get("returns") or []),
            "fields": [
                {
                    "name": field["name"],
                    "types": list(field.get("types") or []),
                    "required": bool(field.get("required")),
                }
                for field in method.get("fields") or []
            ],
        }
    return {
        "source": source,
        "source_sha256": sha256,
        "version": full.get("version", ""),
        "release_date": full.get("release_date", ""),
        "changelog": full.get("changelog", ""),
        "vendored_on": today.isoformat(),
        "refresh": REFRESH_COMMAND,
        "methods": methods,
    }


def refresh(
    source: Path, output: Path = DEFAULT_SPEC_PATH, *, today: date | None = None
) -> dict[str, Any]:
    """Write the trimmed spec of ``source`` (a folder holding it, or the file) to ``output``."""
    path = source / SPEC_NAME if source.is_dir() else source
    raw = path.read_bytes()
    trimmed = trim(
        json.loads(raw),
        source=source_name(path),
        sha256=hashlib.sha256(raw).hexdigest(),
        today=today or datetime.now(UTC).date(),
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(trimmed), encoding="utf-8")
    return trimmed


def render(trimmed: Mapping[str, Any]) -> str:
    """JSON with one parameter per line, in the source's order: a refresh reads as a diff."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    header = [f" {dump(key)}: {dump(value)}," for key, value in trimmed.items() if key != "methods"]
    methods: list[str] = []
    for name, method in trimmed["methods"].items():
        fields = ",\n".join(f"   {dump(field)}" for field in method["fields"])
        body = f"[\n{fields}\n  ]" if fields else "[]"
        methods.append(
            f'  {dump(name)}: {{"returns": {dump(method["returns"])}, "fields": {body}}}'
        )
    return "{\n" + "\n".join(header) + '\n "methods": {\n' + ",\n".join(methods) + "\n }\n}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: refresh from the given spec, print what was written."""
    parser = argparse.ArgumentParser(
        prog="python -m standin.spec_refresh",
        description="Refresh the vendored Bot API spec the Telegram stand-in checks against.",
    )
    parser.add_argument("source", type=Path, help=f"the shared spec folder or its {SPEC_NAME}")
    parser.add_argument("--output", type=Path, default=DEFAULT_SPEC_PATH, help="where to write it")
    args = parser.parse_args(argv)
    try:
        trimmed = refresh(args.source, args.output)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"cannot refresh the Bot API spec: {error}", file=sys.stderr)
        return 1
    print(
        f"{args.output.name}: {trimmed['version']} ({trimmed['release_date']}), "
        f"{len(trimmed['methods'])} methods, from {trimmed['source']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
