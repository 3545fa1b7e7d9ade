"""The inbox cannot be written (disk full, database locked): the update waits and is retried,
it is neither dropped nor the end of the update loop.

Before, python-telegram-bot's polling task ended on the first such error without a word: the
bot looked alive and answered nobody.
"""

from __future__ import annotations

from sqlmodel import select

from storage.inbox import DONE, InboundUpdate
from tests.db_faults import WriteFaults
from tests.harness import BotHarness


async def test_a_full_disk_holds_the_update_until_it_can_be_stored(harness: BotHarness) -> None:
    mai = harness.user(1001, "Mai")
    faults = WriteFaults(harness.db.engine)
    faults.fail(times=4)  # four refusals, then the disk has room again
    try:
        replies = await mai.send("/help")
    finally:
        faults.remove()
    assert faults.refused == 4
    assert replies and "/start" in replies[0].plain_text
    assert harness.db.writes.ok  # health is told writes work again
    # The loop lives on: the next message is answered as usual.
    assert (await mai.send("/whoami"))[0].plain_text
    with harness.db.transaction() as session:
        rows = session.exec(select(InboundUpdate)).all()
        assert [row.status for row in rows] == [DONE, DONE]


async def test_a_locked_database_is_waited_out_and_reported_meanwhile(
    harness: BotHarness,
) -> None:
    mai = harness.user(1001, "Mai")
    faults = WriteFaults(harness.db.engine)
    faults.fail(times=None, message="database is locked")
    update_id = harness.telegram.inject_message(1001, "/help")
    await faults.first_refusal.wait()
    writes = harness.db.writes
    assert not writes.ok and writes.last_error == "database is locked"
    assert writes.failing_since is not None
    faults.clear()
    faults.remove()
    replies = await harness.replies_to(1001, update_id)
    assert replies and "/start" in replies[0].plain_text
    assert writes.ok
    del mai
