"""The token never reaches the logs, even at DEBUG level where httpx prints request URLs."""

from __future__ import annotations

import io
import logging

from bot.logging_setup import install_redaction
from tests.conftest import ADMIN_ID
from tests.forms_helpers import DISTRICT_ANSWERS, fill, register
from tests.harness import TOKEN, BotHarness


async def test_full_scenario_logs_no_token(harness: BotHarness) -> None:
    redacted, raw = io.StringIO(), io.StringIO()
    safe = logging.StreamHandler(redacted)
    install_redaction(safe, [TOKEN])
    unsafe = logging.StreamHandler(raw)  # the control: what an unprotected handler would show
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    for handler in (unsafe, safe):  # the unsafe one first: the filter rewrites the record
        handler.setFormatter(formatter)
        handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(unsafe)
    root.addHandler(safe)
    root.setLevel(logging.DEBUG)
    try:
        harness.services.periods.ensure_year(2023)
        admin = harness.user(ADMIN_ID, "Admin")
        await admin.send("/invite so-y-te")
        focal = harness.user(1001, "Mai")
        register(harness, focal, "huyen-muong-te")
        await focal.send("/report")
        await fill(harness, focal, DISTRICT_ANSWERS)
        await focal.press("Gửi báo cáo")
        await admin.send("/export six_month:2023")
        harness.telegram.block_user(1001, notify=False)
        await harness.run_reminders()
        await harness.restart()
    finally:
        root.removeHandler(safe)
        root.removeHandler(unsafe)
        root.setLevel(old_level)
    assert TOKEN in raw.getvalue()  # the scenario did log the URLs...
    assert TOKEN not in redacted.getvalue()  # ...and the bot's handler never shows them
    assert TOKEN.split(":")[1] not in redacted.getvalue()
    assert "[REDACTED]" in redacted.getvalue()
