"""The fairness policy on its own clock: who is dropped, who is paced, who is told, and when.

End to end over both channels: ``tests/test_security.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Chat, Message, Update

from bot.processing import PerChatUpdateProcessor
from domain.fairness import Admission, FairnessConfig, FairnessPolicy, Verdict
from tests.harness import HANG_GUARD_SECONDS

CONFIG = FairnessConfig(
    account_burst=5, account_rate=2.0, stranger_burst=3, stranger_per_minute=1.0
)
STRANGER, FOCAL = ("zalo", "stranger"), ("telegram", "focal")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _policy() -> tuple[FairnessPolicy, Clock]:
    clock = Clock()
    return FairnessPolicy(CONFIG, clock=clock), clock


def _flood(
    policy: FairnessPolicy, clock: Clock, sender: object, count: int, every: float
) -> list[Admission]:
    seen = []
    for _ in range(count):
        seen.append(policy.admit(sender))
        clock.now += every
    return seen


def test_a_stranger_flood_gets_its_burst_then_a_notice_a_minute_then_longer_gaps() -> None:
    policy, clock = _policy()
    first = policy.admit(STRANGER)  # not read yet: counts as someone the bot serves
    assert first.verdict is Verdict.GO
    policy.learn(STRANGER, registered=False, language="vi")
    seen = _flood(policy, clock, STRANGER, 50 * 600, every=0.02)  # 50 a second, 10 minutes
    verdicts = [admission.verdict for admission in seen]
    assert verdicts[:3] == [Verdict.GO] * 3
    assert Verdict.PACE not in verdicts
    notices = [i * 0.02 for i, v in enumerate(verdicts) if v is Verdict.NOTICE]
    # The first a minute after the last answer, then 2, then 4 minutes later: 10 minutes of
    # flood cost 3 answers and 3 notices, every other message dropped before any storage.
    assert [round(t) for t in notices] == [60, 180, 420]
    assert verdicts.count(Verdict.GO) == 3
    assert verdicts.count(Verdict.DROP) == len(verdicts) - 6


def test_a_pause_gives_a_stranger_one_more_message_a_minute() -> None:
    policy, clock = _policy()
    policy.learn(STRANGER, registered=False)
    _flood(policy, clock, STRANGER, 10, every=1)  # the last one a second ago
    clock.now += 29
    assert policy.admit(STRANGER).verdict is Verdict.DROP  # half a minute of quiet: not yet
    clock.now += 61
    assert policy.admit(STRANGER).verdict is Verdict.GO
    assert policy.admit(STRANGER).verdict is Verdict.DROP  # and no notice right after an answer


def test_a_registered_person_over_the_rate_is_paced_in_order_and_told_once() -> None:
    policy, clock = _policy()
    policy.learn(FOCAL, registered=True)
    seen = _flood(policy, clock, FOCAL, 25, every=0.0)  # a paste of 25 lines
    assert [a.verdict for a in seen[:5]] == [Verdict.GO] * 5
    paced = seen[5:]
    assert all(a.verdict is Verdict.PACE for a in paced)  # none dropped
    assert [a.notify for a in paced] == [True] + [False] * 19
    turns = [a.ready_at - clock.now for a in paced]
    assert turns == sorted(turns) and turns[0] == 0.5 and turns[-1] == 10.0  # 2 a second
    clock.now += 60  # the bucket refills: the next burst goes at once, and is told again
    assert policy.admit(FOCAL).verdict is Verdict.GO


def test_someone_not_read_yet_is_never_dropped() -> None:
    policy, _clock = _policy()
    seen = [policy.admit(("telegram", "new")) for _ in range(40)]
    assert all(admission.kept for admission in seen)


def test_a_stranger_who_registers_gets_the_registered_bucket() -> None:
    policy, clock = _policy()
    policy.learn(STRANGER, registered=False)
    _flood(policy, clock, STRANGER, 10, every=0.1)
    policy.learn(STRANGER, registered=True)
    clock.now += 10
    assert all(a.kept for a in _flood(policy, clock, STRANGER, 10, every=0.1))


def test_idle_senders_are_forgotten() -> None:
    policy, clock = _policy()
    for index in range(3 * FairnessPolicy.PRUNE_EVERY):
        policy.admit(("zalo", str(index)))
        clock.now += 1
    assert len(policy) <= CONFIG.forget_after + FairnessPolicy.PRUNE_EVERY


@settings(max_examples=200, deadline=None)
@given(gaps=st.lists(st.floats(min_value=0, max_value=200), max_size=300))
def test_replies_to_a_stranger_stay_few_whatever_the_timing(gaps: list[float]) -> None:
    policy, clock = _policy()
    policy.learn(STRANGER, registered=False)
    replies: list[float] = []
    notices: list[float] = []
    answers: list[float] = []
    for gap in gaps:
        clock.now += gap
        verdict = policy.admit(STRANGER).verdict
        assert verdict is not Verdict.PACE
        if verdict is Verdict.GO:
            answers.append(clock.now)
        if verdict is Verdict.NOTICE:
            notices.append(clock.now)
        if verdict in {Verdict.GO, Verdict.NOTICE}:
            replies.append(clock.now)
    for index, start in enumerate(replies):  # never more than the burst in any minute
        within = [t for t in replies[index:] if t < start + 60]
        assert len(within) <= CONFIG.stranger_burst
    for notice in notices:  # a notice never follows another reply within the minute
        assert all(not 0 < notice - t < CONFIG.notice_interval for t in replies)


@settings(max_examples=200, deadline=None)
@given(gaps=st.lists(st.floats(min_value=0, max_value=5), max_size=300))
def test_a_registered_person_is_never_dropped_and_keeps_their_order(gaps: list[float]) -> None:
    policy, clock = _policy()
    policy.learn(FOCAL, registered=True)
    last_turn = 0.0
    for gap in gaps:
        clock.now += gap
        admission = policy.admit(FOCAL)
        assert admission.kept
        turn = admission.ready_at if admission.verdict is Verdict.PACE else clock.now
        assert turn >= clock.now and turn >= last_turn
        last_turn = turn


# --------------------------------------------------------------------------- the processor
def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(id=chat_id, type="private")
    message = Message(message_id=update_id, date=datetime.now(UTC), chat=chat)
    return Update(update_id=update_id, message=message)


async def test_a_chat_with_many_waiting_updates_holds_one_slot_not_all() -> None:
    """A flood in one chat (or one paced person) waits for its turn without taking the
    slots other chats need: with 2 slots, 10 updates of chat A wait while chat B is served."""
    gate = asyncio.Event()
    done: list[int] = []
    processor = PerChatUpdateProcessor(max_concurrent_updates=2, on_processed=lambda u: None)

    async def handle(update_id: int, wait: bool) -> None:
        if wait:
            await gate.wait()
        done.append(update_id)

    flood = [
        asyncio.create_task(processor.process_update(_update(n, 1), handle(n, True)))
        for n in range(10)
    ]
    other = processor.process_update(_update(100, 2), handle(100, False))
    await asyncio.wait_for(other, HANG_GUARD_SECONDS)  # served while chat 1 waits
    assert done == [100]
    gate.set()
    await asyncio.wait_for(asyncio.gather(*flood), HANG_GUARD_SECONDS)
    assert done == [100, *range(10)]  # chat 1's own order kept
