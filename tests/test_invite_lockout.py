"""The invite lockout at its boundaries: when it starts, the minute it ends, how its window slides.

Five wrong codes with at most an hour between the first and the fifth lock registration for an
hour from the fifth (``domain/registration.py``). The end-to-end test shows that a lock happens;
these pin the exact instants, through the real service and database, with the clock injected.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.clock import FixedClock
from domain.identity import ChannelIdentity
from domain.registration import LOCKOUT_DURATION, LOCKOUT_WINDOW, RegistrationError
from domain.services import Services

GUESSER = ChannelIdentity("telegram", "2001", "2001", "Guesser")
WRONG = "wrong-code-number-00xxxxxxxxxxxx"
SECOND = timedelta(seconds=1)


def _wrong_code(services: Services) -> str:
    """Try a wrong code; the reason it was refused ("unknown", or "locked")."""
    with pytest.raises(RegistrationError) as refused:
        services.registration.register(GUESSER, WRONG)
    return refused.value.reason


def _minutes_to_wait(services: Services, code: str) -> int:
    """Try the right code while locked out; the minutes the refusal tells the person to wait."""
    with pytest.raises(RegistrationError) as refused:
        services.registration.register(GUESSER, code)
    assert refused.value.reason == "locked"
    minutes = refused.value.text.params["minutes"]
    assert isinstance(minutes, int)
    return minutes


def _fail_at(services: Services, clock: FixedClock, offsets: list[timedelta]) -> list[str]:
    start = clock.now()
    reasons = []
    for offset in offsets:
        clock.set(start + offset)
        reasons.append(_wrong_code(services))
    return reasons


def test_the_lock_ends_exactly_an_hour_after_the_fifth_wrong_code(
    services: Services, clock: FixedClock
) -> None:
    code = services.registration.create_invite("huyen-muong-te", actor="test").code
    start = clock.now()
    minutes = [timedelta(minutes=m) for m in range(5)]
    assert _fail_at(services, clock, minutes) == ["unknown"] * 5  # the fifth is still answered
    fifth = start + minutes[-1]
    assert services.registration.locked_until(GUESSER) == fifth + LOCKOUT_DURATION

    assert _minutes_to_wait(services, code) == 60  # at once: a full hour, not 61 minutes
    clock.set(fifth + timedelta(minutes=59))
    assert _minutes_to_wait(services, code) == 1
    # Tries during the lock are refused without counting: they do not extend it.
    assert [_wrong_code(services) for _ in range(3)] == ["locked"] * 3
    clock.set(fifth + LOCKOUT_DURATION - SECOND)
    assert _minutes_to_wait(services, code) == 1
    other = ChannelIdentity("telegram", "2002", "2002", "Someone else")
    assert services.registration.locked_until(other) is None  # only the guesser is locked

    clock.set(fifth + LOCKOUT_DURATION)
    assert services.registration.locked_until(GUESSER) is None
    # The old failures are more than an hour apart from a new one: one more does not relock.
    assert _wrong_code(services) == "unknown"
    registered = services.registration.register(GUESSER, code)
    assert registered.unit.code == "huyen-muong-te"


@pytest.mark.parametrize(
    ("fifth_after_first", "locks"),
    [
        (LOCKOUT_WINDOW - SECOND, True),
        (LOCKOUT_WINDOW, True),  # the code's rule: first and fifth at most an hour apart
        (LOCKOUT_WINDOW + SECOND, False),  # the first has aged out: four in the window
    ],
)
def test_the_window_slides(
    services: Services, clock: FixedClock, fifth_after_first: timedelta, locks: bool
) -> None:
    start = clock.now()
    four = [timedelta(minutes=m) for m in (0, 10, 20, 30)]
    assert _fail_at(services, clock, [*four, fifth_after_first]) == ["unknown"] * 5
    until = services.registration.locked_until(GUESSER)
    assert until == (start + fifth_after_first + LOCKOUT_DURATION if locks else None)
    clock.advance(SECOND)
    assert _wrong_code(services) == ("locked" if locks else "unknown")
    if not locks:
        # Now 10:00, 20:00, 30:00, 60:01 and 60:02 are five within the hour: locked.
        assert services.registration.locked_until(GUESSER) == clock.now() + LOCKOUT_DURATION
