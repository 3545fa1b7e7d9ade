"""``python -m bot`` with its clock starting at a chosen instant (for the start-up benchmark).

    python -m bench.botproc 2023-08-16T09:00:00+07:00 run

The services get real time moved to that instant, so the reminder scheduler's first tick sees
a known day (a quiet one, or one with a reminder due) whatever the date of the run. Nothing
else changes: this is ``python -m bot run``. It imports nothing from the benchmarks, so the
start-up it measures is the bot's own.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

import bot.runtime


class _ShiftedClock:
    def __init__(self, start: datetime) -> None:
        self._start = start.astimezone(UTC)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)


def main() -> int:
    start = datetime.fromisoformat(sys.argv[1])
    clock = _ShiftedClock(start)
    vars(bot.runtime)["SystemClock"] = lambda: clock  # services_for's default clock
    from bot.cli import main as bot_main

    return bot_main(sys.argv[2:])


if __name__ == "__main__":
    raise SystemExit(main())
