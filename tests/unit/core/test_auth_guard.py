from __future__ import annotations

import pytest

from rcs_core.auth_guard import FailedAuthGuard
from rcs_runtime.errors import RcsError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_that_keeps_failing_is_refused_until_the_window_passes() -> None:
    clock = Clock()
    guard = FailedAuthGuard(max_failures=3, window_seconds=60, clock=clock)
    for login in ("a", "b", "c"):  # a guesser trying logins from one address
        guard.check(login, "192.0.2.1")
        guard.failed(login, "192.0.2.1", "INVALID_LOGIN")
    with pytest.raises(RcsError) as caught:
        guard.check("d", "192.0.2.1")
    assert caught.value.reason == "THROTTLED"
    guard.check("d", "192.0.2.2")  # other addresses are not affected
    clock.now += 61
    guard.check("d", "192.0.2.1")


def test_a_login_under_attack_from_many_addresses_is_refused_too() -> None:
    guard = FailedAuthGuard(max_failures=3, window_seconds=60, clock=Clock())
    for i in range(3):
        guard.failed("acme", f"192.0.2.{i}", "INVALID_PASSWORD")
    with pytest.raises(RcsError):
        guard.check("acme", "198.51.100.7")
    guard.check("other", "198.51.100.7")


def test_failures_below_the_limit_or_outside_the_window_pass() -> None:
    clock = Clock()
    guard = FailedAuthGuard(max_failures=3, window_seconds=60, clock=clock)
    guard.failed("acme", "192.0.2.1", "INVALID_PASSWORD")
    guard.failed("acme", "192.0.2.1", "INVALID_PASSWORD")
    clock.now += 61
    guard.failed("acme", "192.0.2.1", "INVALID_PASSWORD")
    guard.check("acme", "192.0.2.1")
