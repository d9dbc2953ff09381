"""Failed-authentication limiting (F18): guesses are slowed where they come from, and
nobody else is locked out by them.

Failures are counted per (login, address) and per address, never per login alone: ten
wrong passwords for a login from one address must not refuse the same login from its
partner's servers (issue 14). Below the limit nothing happens; from the limit on, every
further attempt of that key must wait a delay doubling with each failure (from
``base_delay`` up to ``max_delay``) after the key's last failure, right credentials
included, or guessing would only be slowed for the wrong ones. A good login clears its
own (login, address) failures. An allowlist refusal counts against the address only: it
says nothing about the password.

The attempt is recorded as a failure *before* the password is checked, in the
transaction that counts the failures (``storage/auth_failures.reserve``), so a burst of
concurrent guesses gets no more Argon2 checks than the limit; an attempt that did not
fail deletes its rows. The rows are in PostgreSQL, so every core process counts the same
ones and a restart forgets none; maintenance deletes those older than the window.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from rcs_core.auth import failures_store as auth_failures
from rcs_core.auth.failures_store import KeyState
from rcs_core.settings.store import audit
from rcs_runtime.errors import RcsError, Reason

log = logging.getLogger(__name__)
REFUSALS = Counter("rcs_auth_refusals_total", "Refused authentications", ["reason"])
# What counts as a failed login; anything else (a backend error) releases the attempt.
COUNTED = frozenset({Reason.INVALID_LOGIN, Reason.INVALID_PASSWORD, Reason.IP_NOT_ALLOWED})

T = TypeVar("T")


# No login is longer (settings_servicer._LOGIN) nor any address: a longer one (only a
# made-up login can be) is counted by its first characters.
MAX_KEY_PART_CHARS = 64


@dataclass(frozen=True, slots=True)
class Subject:
    """Who tries to log in: a partner by password, an administrator, or an API key (the
    key is no name: every key tried from an address counts as one)."""

    kind: Literal["partner", "admin", "apikey"]
    login: str
    remote_ip: str

    @property
    def address_key(self) -> str:
        return f"ip:{self.remote_ip[:MAX_KEY_PART_CHARS]}"

    @property
    def own_key(self) -> str:
        if self.kind == "apikey":
            return f"apikey:{self.remote_ip[:MAX_KEY_PART_CHARS]}"
        prefix = "login" if self.kind == "partner" else "admin"
        # Bounded, so that any size of login keeps to what the key index can hold.
        ip, login = self.remote_ip[:MAX_KEY_PART_CHARS], self.login[:MAX_KEY_PART_CHARS]
        return f"{prefix}:{ip}/{login}"


class FailedAuthGuard:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        max_failures: int = 10,
        max_failures_per_address: int = 50,
        window_seconds: float = 300.0,
        base_delay_seconds: float = 1.0,
        max_delay_seconds: float = 60.0,
    ) -> None:
        self._pool = pool
        self._max = max_failures
        self._max_per_address = max_failures_per_address
        self.window = dt.timedelta(seconds=window_seconds)
        self._base_delay = base_delay_seconds
        self._max_delay = max_delay_seconds

    async def guarded(self, subject: Subject, check: Callable[[], Awaitable[T]]) -> T:
        """Run ``check`` (the credential check) unless ``subject`` must wait; THROTTLED
        (with the seconds to wait) otherwise. The attempt counts as a failure if
        ``check`` raises one of ``COUNTED``."""
        ids = await self._reserve(subject)
        try:
            result = await check()
        except RcsError as err:
            if err.reason not in COUNTED:
                await self._release(ids)
                raise
            REFUSALS.labels(err.reason).inc()
            log.warning(
                "auth_refused",
                extra={
                    "kind": subject.kind,
                    "login": subject.login,
                    "remote_ip": subject.remote_ip,
                    "reason": err.reason,
                },
            )
            if err.reason == Reason.IP_NOT_ALLOWED:
                await self._release(ids, only=[subject.own_key])
            # Audited too (issue 14): bounded, since failures past the limit are throttled
            # before they are checked, and throttled attempts are only counted and logged.
            login = subject.login[:MAX_KEY_PART_CHARS]  # the actor is an index key too
            async with self._pool.connection() as conn:
                await audit(
                    conn,
                    actor=login or subject.kind,
                    remote_ip=subject.remote_ip[:MAX_KEY_PART_CHARS],
                    action="login.refused",
                    target=f"{subject.kind} {login}".strip(),
                    details={"reason": err.reason},
                )
            raise
        except BaseException:
            await asyncio.shield(self._release(ids))
            raise
        await self._release(ids, forget=[subject.own_key])
        return result

    def wait_seconds(self, states: dict[str, KeyState]) -> float:
        """How long an attempt must still wait, given its keys' failures (0: go on)."""
        wait = 0.0
        for key, state in states.items():
            limit = self._max_per_address if key.startswith("ip:") else self._max
            over = state.failures - limit
            if over >= 0:
                delay = min(self._base_delay * 2 ** min(over, 32), self._max_delay)
                wait = max(wait, delay - state.seconds_since_last)
        return wait

    async def _reserve(self, subject: Subject) -> list[int]:
        keys = [subject.address_key, subject.own_key]
        async with self._pool.connection() as conn:
            ids, wait = await auth_failures.reserve(conn, keys, self.window, self.wait_seconds)
        if wait > 0:
            REFUSALS.labels(Reason.THROTTLED).inc()
            log.warning(
                "auth_throttled",
                extra={
                    "kind": subject.kind,
                    "login": subject.login,
                    "remote_ip": subject.remote_ip,
                    "wait_seconds": round(wait, 1),
                },
            )
            raise RcsError(
                Reason.THROTTLED,
                f"too many failed logins from {subject.remote_ip or 'this address'}"
                f" with these credentials; retry in {math.ceil(wait)} s",
                retry_after=wait,
            )
        return ids

    async def _release(
        self, ids: list[int], *, only: Sequence[str] = (), forget: Sequence[str] = ()
    ) -> None:
        async with self._pool.connection() as conn:
            if only:
                await auth_failures.release_keys_of(conn, ids, only)
            else:
                await auth_failures.release(conn, ids, forget_keys=forget)
