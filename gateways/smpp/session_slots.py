"""A login's SMPP session slots, counted by core over every gateway process (SMPP_API 1.3).

A bind takes a slot with AuthService.ClaimSmppSession (under the login's lock in core,
against the limit as stored now; TOO_MANY_SESSIONS beyond it). The slot is held for a
lease that one task renews for all of this process's slots in one call every third of it
(RenewSmppSessions); unbind, a lost connection or ``stop`` give it back
(ReleaseSmppSessions). While core is unreachable the sessions stay bound and the renewal
is retried within RENEW_RETRY_SECONDS (logged); a renewal core refuses for good (not
``retryable`` in the catalogue: a contract mismatch, not an outage) is logged at error and
tried again only at the normal period. A slot whose lease ended meanwhile is claimed
again, and if another session took it the session stays bound, logged, and is claimed
again at each renewal until one is free. A process that dies frees its slots when their
leases end.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass

import grpc
from google.protobuf import duration_pb2

from gateways.rpc_errors import rcs_error
from rcs.core.v1 import auth_service_pb2, auth_service_pb2_grpc
from rcs_runtime.errors import RcsError
from rcs_runtime.grpc_client import catalogue_entry, next_attempt_in

log = logging.getLogger(__name__)
RENEW_RETRY_SECONDS = 5.0  # at most, after a failed renewal


@dataclass(eq=False)  # identity: one per bind
class Slot:
    login: str
    mode: auth_service_pb2.SmppBindMode.ValueType
    session_id: str
    claimed: bool = False  # core granted it: renewed with the others
    released: bool = False


class SessionSlots:
    def __init__(
        self,
        core: auth_service_pb2_grpc.AuthServiceAsyncStub,
        gateway_id: str,
        *,
        lease_seconds: float,
        timeout_seconds: float,
    ) -> None:
        """``gateway_id``: this process's name for the slots it holds in core."""
        self._core = core
        self.gateway_id = gateway_id
        self._lease_seconds = lease_seconds
        self._timeout = timeout_seconds
        self._held: dict[str, Slot] = {}  # session id → slot, from reserve until release
        self._renewer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._renewer = asyncio.create_task(self.renew_forever(), name="smpp-session-leases")

    async def stop(self) -> None:
        """Stop renewing and give back every slot at once: other gateways may take them."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        await self.release_all()

    def reserve(self, login: str, mode: auth_service_pb2.SmppBindMode.ValueType) -> Slot:
        """A slot that belongs to its session before core answers the claim: a connection
        that drops meanwhile releases it. (A claim whose answer was lost to a timeout may
        hold a slot in core until its lease ends.)"""
        slot = Slot(login, mode, uuid.uuid4().hex)
        self._held[slot.session_id] = slot
        return slot

    async def claim(self, slot: Slot) -> auth_service_pb2.ClaimSmppSessionResponse:
        """Hold ``slot`` in core, or raise RcsError (TOO_MANY_SESSIONS beyond the login's
        max_smpp_sessions, SERVICE_UNAVAILABLE when core is away) and forget it."""
        try:
            answer = await self._claim_call(slot)
        except RcsError:
            self._held.pop(slot.session_id, None)
            slot.released = True
            raise
        slot.claimed = True
        return answer

    async def release(self, slot: Slot | None) -> None:
        """Give the slot back (unbind, lost connection); once. Should core not answer, the
        slot comes back when its lease ends."""
        if slot is None or slot.released:
            return
        slot.released, slot.claimed = True, False
        self._held.pop(slot.session_id, None)
        await self._release_ids([slot.session_id])

    async def release_all(self) -> None:
        for slot in self._held.values():
            slot.released, slot.claimed = True, False
        ids = list(self._held)
        self._held.clear()
        if ids:
            await self._release_ids(ids)

    async def renew_forever(self) -> None:
        while True:
            try:
                wait = await self.renew()
            except Exception:
                log.exception("smpp_session_renew_failed")
                wait = min(self.renew_every, RENEW_RETRY_SECONDS)
            await asyncio.sleep(wait)

    @property
    def renew_every(self) -> float:
        return self._lease_seconds / 3

    async def renew(self) -> float:
        """Renew the leases of every slot this process holds, in one call; claim again
        those core no longer counts (their lease ended while core was away or this process
        stalled). Seconds until the next renewal: sooner than the period when core could
        not answer (the sessions stay bound meanwhile)."""
        every = self.renew_every
        ids = [sid for sid, slot in self._held.items() if slot.claimed]
        if not ids:
            return every
        try:
            answer = await self._core.RenewSmppSessions(
                auth_service_pb2.RenewSmppSessionsRequest(
                    gateway_id=self.gateway_id, session_ids=ids, lease=self._lease()
                ),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as err:
            entry = catalogue_entry(err)
            extra = {"sessions": len(ids), "code": str(err.code()), "reason": entry.reason}
            if entry.retryable:
                log.warning("smpp_session_renew_failed", extra=extra)
            else:  # only a fix on core's side helps: say so loudly, do not hammer it
                log.error("smpp_session_renew_refused", extra=extra)
            return min(every, next_attempt_in(err, soon=RENEW_RETRY_SECONDS, refused=every))
        for session_id in answer.unknown_session_ids:
            slot = self._held.get(session_id)
            if slot is not None and slot.claimed:
                await self._claim_again(slot)
        return every

    async def _claim_again(self, slot: Slot) -> None:
        """A bound session core no longer counts: count it again. Refused (its slot was
        taken meanwhile), it stays bound and is tried again at the next renewal."""
        extra = {"login": slot.login, "session_id": slot.session_id}
        try:
            await self._claim_call(slot)
        except RcsError as e:
            log.warning("smpp_session_not_counted", extra={**extra, "reason": e.reason})
            return
        log.warning("smpp_session_lease_lost_and_claimed_again", extra=extra)
        if slot.released:  # released while being claimed again
            await self._release_ids([slot.session_id])

    async def _claim_call(self, slot: Slot) -> auth_service_pb2.ClaimSmppSessionResponse:
        try:
            return await self._core.ClaimSmppSession(
                auth_service_pb2.ClaimSmppSessionRequest(
                    login=slot.login,
                    session_id=slot.session_id,
                    gateway_id=self.gateway_id,
                    mode=slot.mode,
                    lease=self._lease(),
                ),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as err:
            raise rcs_error(err) from err

    async def _release_ids(self, session_ids: list[str]) -> None:
        try:
            await self._core.ReleaseSmppSessions(
                auth_service_pb2.ReleaseSmppSessionsRequest(session_ids=session_ids),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as err:
            log.warning(
                "smpp_session_release_failed",
                extra={"sessions": len(session_ids), "code": str(err.code())},
            )

    def _lease(self) -> duration_pb2.Duration:
        lease = duration_pb2.Duration()
        lease.FromTimedelta(dt.timedelta(seconds=self._lease_seconds))
        return lease
