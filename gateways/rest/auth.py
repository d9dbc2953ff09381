"""Partner authentication through core's AuthService, with a short cache of successes.

Core checks passwords against Argon2id hashes, deliberately slow; a partner sending
many messages would pay that on every request. Successful checks are reused for
``auth_cache_seconds``, keyed by (login, sha256(password), remote address) so that neither
the password is kept in memory nor the per-login IP allowlist bypassed. Failures are never
cached: a corrected password works at once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import grpc

from gateways.rest.rpc import rcs_error
from rcs.core.v1 import auth_service_pb2, auth_service_pb2_grpc

_Key = tuple[str, bytes, str]


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
    ) -> None:
        """``admins``: check administrators (AuthenticateAdmin) instead of partners."""
        self._stub = stub
        self._admins = admins
        self._cache_seconds = cache_seconds
        self._timeout = timeout_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._valid_until: dict[_Key, float] = {}

    async def authenticate(self, login: str, password: str, remote_ip: str) -> None:
        """Return when the credentials are good; raise RcsError (INVALID_LOGIN, …) otherwise."""
        key = (login, hashlib.sha256(password.encode()).digest(), remote_ip)
        now = self._clock()
        until = self._valid_until.get(key)
        if until is not None and now < until:
            return
        try:
            if self._admins:
                await self._stub.AuthenticateAdmin(
                    auth_service_pb2.AuthenticateAdminRequest(
                        login=login, password=password, remote_ip=remote_ip
                    ),
                    timeout=self._timeout,
                )
            else:
                await self._stub.AuthenticatePartner(
                    auth_service_pb2.AuthenticatePartnerRequest(
                        login=login, password=password, remote_ip=remote_ip
                    ),
                    timeout=self._timeout,
                )
        except grpc.aio.AioRpcError as err:
            self._valid_until.pop(key, None)
            raise rcs_error(err) from err
        if self._cache_seconds > 0:
            self._remember(key, self._clock() + self._cache_seconds)

    def _remember(self, key: _Key, until: float) -> None:
        self._valid_until.pop(key, None)
        self._valid_until[key] = until
        if len(self._valid_until) > self._max_entries:
            now = self._clock()
            for stale in [k for k, t in self._valid_until.items() if t <= now]:
                del self._valid_until[stale]
            while len(self._valid_until) > self._max_entries:
                del self._valid_until[next(iter(self._valid_until))]
