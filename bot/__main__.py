"""``python -m bot``: see ``bot.cli``.

A start that fails for the operator's reason (a wrong token, an unreachable Bot API, a
database that cannot be opened) ends with one line on stderr and status 2, never a
traceback: ``bot.startup_errors``.
"""

import sys

from bot.cli import main
from bot.startup_errors import EXIT_STARTUP, explain

try:
    status = main()
except Exception as error:
    line = explain(error)
    if line is None:
        raise
    print(f"startup error: {line}", file=sys.stderr)
    status = EXIT_STARTUP
raise SystemExit(status)
