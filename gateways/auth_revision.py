"""Drop cached logins as soon as what they depend on changes (issue 14).

The gateways cache successful logins and API keys for ``RCS_AUTH_CACHE_SECONDS``; without
this, a changed allowlist or password or a revoked key would take up to that long to
apply. ``AuthRevisionWatch`` polls core's ``AuthService.GetAuthRevision`` (the settings
revision and the count of revoked keys) and, when it changes, calls every listener: the
REST gateway forgets its caches, the SMPP gateway also checks its bound sessions again.
While core is unreachable nothing is dropped (logins cannot be checked then anyway); a poll
core refuses for good (not ``retryable``: a contract mismatch) is logged at error and tried
again REFUSED_BACKOFF times less often.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import grpc

from rcs.core.v1 import auth_service_pb2, auth_service_pb2_grpc
from rcs_runtime.grpc_client import catalogue_entry, next_attempt_in

log = logging.getLogger(__name__)

Listener = Callable[[], Awaitable[None] | None]
REFUSED_BACKOFF = 10  # × the poll period, after a refusal that retrying cannot cure


class AuthRevisionWatch:
    def __init__(
        self,
        stub: auth_service_pb2_grpc.AuthServiceAsyncStub,
        *,
        poll_seconds: float,
        timeout_seconds: float,
    ) -> None:
        self._stub = stub
        self._poll = poll_seconds
        self._timeout = timeout_seconds
        self._listeners: list[Listener] = []
        self._seen: tuple[int, int] | None = None
        self._task: asyncio.Task[None] | None = None

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        if self._poll > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="auth-revision-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def poll_once(self) -> bool:
        """Ask core once; True when the revision changed since the last answer (the first
        answer is no change: the caches were filled under it)."""
        answer = await self._stub.GetAuthRevision(
            auth_service_pb2.GetAuthRevisionRequest(), timeout=self._timeout
        )
        now = (answer.settings_revision, answer.revoked_api_keys)
        changed = self._seen is not None and now != self._seen
        self._seen = now
        if changed:
            log.info("auth_revision_changed", extra={"settings_revision": now[0]})
            for listener in self._listeners:
                result = listener()
                if result is not None:
                    await result
        return changed

    async def _run(self) -> None:
        while True:
            wait = self._poll
            try:
                await self.poll_once()
            except grpc.aio.AioRpcError as err:
                wait = self.wait_after(err)
            except Exception:
                log.exception("auth_revision_listener_failed")
            await asyncio.sleep(wait)

    def wait_after(self, err: grpc.aio.AioRpcError) -> float:
        """Seconds until the next poll after a failed one (logged: an outage quietly, a
        refusal loudly)."""
        entry = catalogue_entry(err)
        if entry.retryable:
            log.debug("auth_revision_unavailable", extra={"code": err.code().name})
        else:
            log.error(
                "auth_revision_refused", extra={"code": err.code().name, "reason": entry.reason}
            )
        return next_attempt_in(err, soon=self._poll, refused=self._poll * REFUSED_BACKOFF)
