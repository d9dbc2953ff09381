from __future__ import annotations

from rcs_connectors.health import Breaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_failures_in_a_row() -> None:
    b = Breaker("a", threshold=3, cooldown=10, clock=Clock())
    for _ in range(2):
        b.record(False)
    b.record(True)  # a success resets the count
    for _ in range(2):
        b.record(False)
    assert b.usable()
    b.record(False)
    assert b.is_open
    assert not b.usable()


def test_half_open_lets_one_trial_through_after_the_cooldown() -> None:
    clock = Clock()
    b = Breaker("a", threshold=1, cooldown=10, clock=clock)
    b.record(False)
    clock.now += 9.9
    assert not b.usable()
    clock.now += 0.2
    assert b.usable()  # the trial
    assert not b.usable()  # only one at a time
    b.record(False)  # trial failed: a new cooldown
    clock.now += 5
    assert not b.usable()
    clock.now += 5.1
    assert b.usable()
    b.record(True)
    assert not b.is_open
    assert b.usable()
    assert b.usable()
