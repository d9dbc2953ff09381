"""Partner authentication through core's AuthService, with a short cache of successes.

Core checks passwords against Argon2id hashes, deliberately slow; a partner sending
many messages would pay that on every request. Successful checks are reused for
``auth_cache_seconds``, keyed by (login, sha256(password), remote address) so that neither
the password is kept in memory nor the per-login IP allowlist bypassed. Failures are never
cached: a corrected password works at once. Concurrent requests with the same credentials
share one check, so an expired entry costs one Argon2 check, not one per request in flight.
A success also tells the partner's default validity, which a REST v6 schedule needs (its
deadline may end the validity sooner); it is cached with the credentials. The whole cache
is dropped as soon as the settings revision changes (``gateways/auth_revision.py``), so a
changed password, allowlist or validity applies at once. (The SMPP session limit is
core's to check, at each bind: AuthService.ClaimSmppSession.)
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from gateways.rpc_errors import rcs_error
from rcs.core.v1 import auth_service_pb2, auth_service_pb2_grpc

_Key = tuple[str, bytes, str]


@dataclass(frozen=True, slots=True)
class Grant:
    """What a successful check tells about the partner (zeros for an administrator)."""

    default_ttl_seconds: int = 0
    # Changes when the partner's password changes (AuthService.CheckSmppSessions).
    credential_tag: str = ""
    smpp_standard_tlvs_only: bool = False
    # The message type of the login's plain HTTP v5 requests (Partner.service_type).
    service_type: str = "SMS"


_ADMIN = Grant()


class PartnerAuth:
    def __init__(
        self,
        stub: auth_service_pb2_grpc.AuthServiceAsyncStub,
        *,
        cache_seconds: float,
        timeout_seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        admins: bool = False,
        smpp: bool = False,
    ) -> None:
        """``admins``: check administrators (AuthenticateAdmin) instead of partners.
        ``smpp``: the credentials come from SMPP binds (a partner's SMPP password)."""
        self._stub = stub
        self._admins = admins
        self._smpp = smpp
        self._cache_seconds = cache_seconds
        self._timeout = timeout_seconds
        self._max_entries = max_entries
        self._clock = clock
        # key → (valid until, what the check told)
        self._cached: dict[_Key, tuple[float, Grant]] = {}
        # key → the check running now: callers with the same credentials share it.
        self._checking: dict[_Key, asyncio.Task[Grant]] = {}

    def forget_all(self) -> None:
        """Drop every cached success (the settings changed: gateways.auth_revision)."""
        self._cached.clear()

    async def authenticate(self, login: str, password: str, remote_ip: str) -> int:
        """The partner's default validity in seconds (0 for an administrator) when the
        credentials are good; raise RcsError (INVALID_LOGIN, …) otherwise."""
        return (await self.grant(login, password, remote_ip)).default_ttl_seconds

    async def grant(self, login: str, password: str, remote_ip: str) -> Grant:
        """What core tells about the partner when the credentials are good; raise RcsError
        (INVALID_LOGIN, …) otherwise."""
        key = (login, hashlib.sha256(password.encode()).digest(), remote_ip)
        hit = self._cached.get(key)
        if hit is not None and self._clock() < hit[0]:
            return hit[1]
        # One check per key at a time: when the cache entry of a busy partner ends, its
        # dozens of requests in flight would otherwise each cost core an Argon2 check.
        check = self._checking.get(key)
        if check is None:
            check = asyncio.ensure_future(self._check(key, login, password, remote_ip))
            self._checking[key] = check
            check.add_done_callback(lambda done: self._checked(key, done))
        return await asyncio.shield(check)

    def _checked(self, key: _Key, done: asyncio.Task[Grant]) -> None:
        if self._checking.get(key) is done:
            del self._checking[key]
        if not done.cancelled():
            done.exception()  # retrieved here: every caller may have gone

    async def _check(self, key: _Key, login: str, password: str, remote_ip: str) -> Grant:
        grant = _ADMIN
        try:
            if self._admins:
                await self._stub.AuthenticateAdmin(
                    auth_service_pb2.AuthenticateAdminRequest(
                        login=login, password=password, remote_ip=remote_ip
                    ),
                    timeout=self._timeout,
                    wait_for_ready=True,
                )
            else:
                answer = await self._stub.AuthenticatePartner(
                    auth_service_pb2.AuthenticatePartnerRequest(
                        login=login, password=password, remote_ip=remote_ip, smpp=self._smpp
                    ),
                    # A login that comes while the channel to core reconnects (core just
                    # started or restarted) waits for it, up to the timeout, rather than
                    # failing at once: SERVICE_UNAVAILABLE only when core stays away.
                    timeout=self._timeout,
                    wait_for_ready=True,
                )
                grant = Grant(
                    answer.default_ttl_seconds,
                    answer.credential_tag,
                    answer.smpp_standard_tlvs_only,
                    answer.service_type or "SMS",
                )
        except grpc.aio.AioRpcError as err:
            self._cached.pop(key, None)
            raise rcs_error(err) from err
        if self._cache_seconds > 0:
            self._remember(key, (self._clock() + self._cache_seconds, grant))
        return grant

    def _remember(self, key: _Key, entry: tuple[float, Grant]) -> None:
        self._cached.pop(key, None)
        self._cached[key] = entry
        if len(self._cached) > self._max_entries:
            now = self._clock()
            for stale in [k for k, (until, _) in self._cached.items() if until <= now]:
                del self._cached[stale]
            while len(self._cached) > self._max_entries:
                del self._cached[next(iter(self._cached))]
