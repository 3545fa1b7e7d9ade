"""One send budget per token: replies before bulk, bulk within its share, one chat never
holds back another, and a 429 pauses everything. Driven by a hand-moved clock."""

from __future__ import annotations

import asyncio

from domain.send_budget import BudgetConfig, Priority, SendBudget


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def _order(
    log: list[str], name: str, budget: SendBudget, priority: Priority, chat: str
) -> asyncio.Task[None]:
    async def send() -> None:
        await budget.acquire(priority, chat)
        log.append(name)

    return asyncio.create_task(send())


async def test_a_waiting_reply_goes_before_waiting_bulk() -> None:
    clock = Clock()
    budget = SendBudget(BudgetConfig(rate=2, bulk_rate=2, chat_burst=5), clock=clock)
    log: list[str] = []
    tasks = [_order(log, f"bulk{i}", budget, Priority.BULK, f"b{i}") for i in range(4)]
    await _settle()
    assert log == ["bulk0", "bulk1"]  # the second's worth of budget is spent
    tasks.append(_order(log, "reply", budget, Priority.REPLY, "person"))
    await _settle()
    assert log == ["bulk0", "bulk1"]  # nothing left this second, not even for a reply
    clock.now += 0.5
    budget.poke()
    await _settle()
    assert log == ["bulk0", "bulk1", "reply"]  # the first token goes to the reply
    clock.now += 1
    budget.poke()
    await _settle()
    assert log[3:] == ["bulk2", "bulk3"]
    await asyncio.gather(*tasks)


async def test_bulk_never_takes_more_than_its_share() -> None:
    clock = Clock()
    budget = SendBudget(BudgetConfig(rate=30, bulk_rate=2, chat_burst=5), clock=clock)
    log: list[str] = []
    tasks = [_order(log, f"bulk{i}", budget, Priority.BULK, f"b{i}") for i in range(10)]
    tasks += [_order(log, f"reply{i}", budget, Priority.REPLY, f"r{i}") for i in range(10)]
    await _settle()
    assert sum(name.startswith("reply") for name in log) == 10  # replies use the rest at once
    assert sum(name.startswith("bulk") for name in log) == 2
    for _ in range(4):
        clock.now += 1
        budget.poke()
        await _settle()
    assert sum(name.startswith("bulk") for name in log) == 2 + 4 * 2
    await asyncio.gather(*tasks)


async def test_one_chat_at_its_limit_does_not_hold_back_another() -> None:
    clock = Clock()
    budget = SendBudget(BudgetConfig(rate=30, bulk_rate=30, chat_rate=1, chat_burst=2), clock=clock)
    log: list[str] = []
    busy = [_order(log, f"busy{i}", budget, Priority.BULK, "busy") for i in range(4)]
    await _settle()
    other = _order(log, "other", budget, Priority.BULK, "other")
    await _settle()
    assert log == ["busy0", "busy1", "other"]  # a burst of two, then the other chat goes on
    clock.now += 1
    budget.poke()
    await _settle()
    assert log[3:] == ["busy2"]  # one a second in one chat
    clock.now += 1
    budget.poke()
    await asyncio.gather(*busy, other)
    assert log[-1] == "busy3"


async def test_replies_in_one_chat_are_not_held_to_one_a_second() -> None:
    """A form's next question answers the person at their pace: no per-chat wait."""
    clock = Clock()
    budget = SendBudget(BudgetConfig(rate=30, chat_rate=1, chat_burst=2), clock=clock)
    log: list[str] = []
    await asyncio.gather(*(_order(log, f"r{i}", budget, Priority.REPLY, "p") for i in range(5)))
    assert len(log) == 5


async def test_a_429_pauses_every_send_of_the_token() -> None:
    clock = Clock()
    budget = SendBudget(BudgetConfig(rate=30, bulk_rate=30, chat_burst=5), clock=clock)
    budget.pause(5)
    log: list[str] = []
    task = _order(log, "reply", budget, Priority.REPLY, "person")
    await _settle()
    clock.now += 4.9
    budget.poke()
    await _settle()
    assert log == []
    clock.now += 0.2
    budget.poke()
    await task
    assert log == ["reply"]


async def test_a_cancelled_wait_gives_its_turn_away() -> None:
    clock = Clock()
    budget = SendBudget(BudgetConfig(rate=1, bulk_rate=1, chat_burst=5), clock=clock)
    log: list[str] = []
    first = _order(log, "first", budget, Priority.REPLY, "a")
    await _settle()
    gone = _order(log, "gone", budget, Priority.REPLY, "b")
    kept = _order(log, "kept", budget, Priority.REPLY, "c")
    await _settle()
    gone.cancel()
    clock.now += 1
    budget.poke()
    await asyncio.gather(first, kept)
    assert log == ["first", "kept"]
