"""Failed-authentication limiting (F18) on real PostgreSQL: counted per address and per
login, for every core process at once, across restarts, within the window only."""

from __future__ import annotations

from typing import Any

import pytest

from rcs_core.auth_guard import FailedAuthGuard
from rcs_core.storage import auth_failures
from rcs_runtime.errors import RcsError

pytestmark = pytest.mark.integration


async def refused(guard: FailedAuthGuard, login: str, ip: str) -> bool:
    """Whether the guard refuses THROTTLED (any other error fails the test)."""
    try:
        await guard.check(login, ip)
    except RcsError as err:
        return err.reason == "THROTTLED" or pytest.fail(f"refused {err.reason}")
    return False


async def age(pool: Any, seconds: int) -> None:
    """As if every failure so far happened ``seconds`` earlier."""
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE auth_failures SET failed_at = failed_at - make_interval(secs => %s)",
            (seconds,),
        )


async def test_an_address_that_keeps_failing_is_refused_until_the_window_passes(
    pool: Any,
) -> None:
    guard = FailedAuthGuard(pool, max_failures=3, window_seconds=60)
    for login in ("a", "b", "c"):  # a guesser trying logins from one address
        assert not await refused(guard, login, "192.0.2.1")
        await guard.failed(login, "192.0.2.1", "INVALID_LOGIN")
    assert await refused(guard, "d", "192.0.2.1")
    assert not await refused(guard, "d", "192.0.2.2")  # other addresses are not affected
    await age(pool, 61)
    assert not await refused(guard, "d", "192.0.2.1")


async def test_a_login_under_attack_from_many_addresses_is_refused_too(pool: Any) -> None:
    guard = FailedAuthGuard(pool, max_failures=3, window_seconds=60)
    for i in range(3):
        await guard.failed("acme", f"192.0.2.{i}", "INVALID_PASSWORD")
    assert await refused(guard, "acme", "198.51.100.7")
    assert not await refused(guard, "other", "198.51.100.7")


async def test_failures_below_the_limit_or_outside_the_window_pass(pool: Any) -> None:
    guard = FailedAuthGuard(pool, max_failures=3, window_seconds=60)
    await guard.failed("acme", "192.0.2.1", "INVALID_PASSWORD")
    await guard.failed("acme", "192.0.2.1", "INVALID_PASSWORD")
    await age(pool, 61)
    await guard.failed("acme", "192.0.2.1", "INVALID_PASSWORD")
    assert not await refused(guard, "acme", "192.0.2.1")


async def test_every_core_process_counts_the_same_failures_and_a_restart_forgets_none(
    pool: Any,
) -> None:
    """Two cores behind the gateways (or one restarted): failures split between them
    still add up."""
    one = FailedAuthGuard(pool, max_failures=4, window_seconds=60)
    other = FailedAuthGuard(pool, max_failures=4, window_seconds=60)
    for guard in (one, other, one, other):
        await guard.failed("acme", "192.0.2.1", "INVALID_PASSWORD")
    restarted = FailedAuthGuard(pool, max_failures=4, window_seconds=60)
    assert await refused(restarted, "acme", "203.0.113.9")


async def test_failures_the_window_no_longer_counts_are_deleted(pool: Any) -> None:
    guard = FailedAuthGuard(pool, max_failures=3, window_seconds=60)
    await guard.failed("acme", "192.0.2.1", "INVALID_PASSWORD")
    await age(pool, 61)
    await guard.failed("acme", "192.0.2.2", "INVALID_PASSWORD")
    async with pool.connection() as conn:
        assert await auth_failures.forget_older_than(conn, guard.window) == 2  # ip + login
        cur = await conn.execute("SELECT key FROM auth_failures ORDER BY key")
        assert [k for (k,) in await cur.fetchall()] == ["ip:192.0.2.2", "login:acme"]
