"""Offers receipts parked here to the peer installations of the cluster (issue 19).

Every installation binds to the operator with the same account and the operator delivers a
receipt on any bind, so a receipt parked in pending_receipts (its operator id unknown here)
may belong to a peer's message. Off the hot path, this loop takes parked receipts older than
a grace (our own submit_sm_resp may still be on its way), offers them to each live peer's
core (ReceiptForwardService; the peers as the cluster agent wrote them in cluster_peers, so
no etcd call), and deletes the ones a peer matched. The others are offered again with
backoff until no message could match them any more (the receipt horizon); the existing
retention still deletes them. A peer that is down is skipped and tried again next turn;
forwarding is at least once and a peer applies a repeat as a no-op.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

import grpc
import psycopg
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import receipt_forward_pb2 as rf
from rcs.core.v1 import receipt_forward_pb2_grpc
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.peer_tls import MutualTls

log = logging.getLogger(__name__)

FORWARDED = Counter(
    "rcs_receipts_forwarded_total",
    "Parked receipts offered to peer installations, by outcome (matched by a peer, unmatched)",
    ["outcome"],
)
PEER_ERRORS = Counter(
    "rcs_receipt_forward_peer_errors_total",
    "Offers of parked receipts a peer installation did not answer (down, unreachable)",
)


@dataclass(frozen=True, slots=True)
class ForwardSettings:
    grace: dt.timedelta  # a parked receipt waits this long for our own submit_sm_resp
    max_backoff: dt.timedelta  # between offers of one receipt: grace, 2 x grace, … up to this
    horizon: dt.timedelta  # no operator id older than this is matched anywhere
    batch: int
    timeout: float  # per peer call


@dataclass(frozen=True, slots=True)
class _Parked:
    id: int
    receipt: rf.ForwardedReceipt


class ReceiptForwarder:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        installation_id: int,
        s: ForwardSettings,
        *,
        tls: MutualTls | None = None,
    ) -> None:
        self._pool = pool
        self._me = installation_id
        self._s = s
        self._tls = tls
        self._stubs: dict[str, receipt_forward_pb2_grpc.ReceiptForwardServiceAsyncStub] = {}
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._known: set[tuple[int, str]] = set()

    async def run(self, interval: float) -> None:
        try:
            while True:
                try:
                    while await self.forward_once() == self._s.batch:
                        pass  # a backlog: go on at once
                except (psycopg.Error, OSError) as exc:
                    log.warning("receipt_forward_failed", extra={"error": str(exc)[:200]})
                await asyncio.sleep(interval)
        finally:
            await self.close()

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
        self._stubs.clear()

    async def forward_once(self) -> int:
        """One turn: offer due parked receipts to every live peer; returns how many were
        offered (0 when there is no peer: a lone installation does nothing)."""
        peers = await self._peers()
        if not peers:
            return 0
        parked = await self._claim()
        if not parked:
            return 0
        matched: set[int] = set()
        for peer_id, endpoint in peers:
            offer = [p for p in parked if p.id not in matched]
            if not offer:
                break
            try:
                answer = await self._stub(endpoint).ApplyForwardedReceipts(
                    rf.ApplyForwardedReceiptsRequest(
                        from_installation_id=self._me, receipts=[p.receipt for p in offer]
                    ),
                    timeout=self._s.timeout,
                )
            except grpc.aio.AioRpcError as exc:
                PEER_ERRORS.inc()
                log.warning(
                    "receipt_forward_peer_unreachable",
                    extra={"peer": peer_id, "core": endpoint, "code": exc.code().name},
                )
                continue
            matched.update(offer[n].id for n in answer.matched if 0 <= n < len(offer))
        if matched:
            async with self._pool.connection() as conn:
                await conn.execute(
                    "DELETE FROM pending_receipts WHERE id = ANY(%s)", (sorted(matched),)
                )
            log.info("parked_receipts_forwarded", extra={"count": len(matched)})
        FORWARDED.labels("matched").inc(len(matched))
        FORWARDED.labels("unmatched").inc(len(parked) - len(matched))
        return len(parked)

    async def _peers(self) -> list[tuple[int, str]]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT installation_id, core_endpoint FROM cluster_peers"
                " WHERE installation_id <> %s AND core_endpoint <> ''"
                " ORDER BY installation_id",
                (self._me,),
            )
            peers = [(int(i), str(e)) for i, e in await cur.fetchall()]
            if set(peers) - self._known:
                # A peer (re)joined: what waits in backoff may be its receipts; offer now.
                await conn.execute(
                    "UPDATE pending_receipts SET forward_after = now() WHERE forward_after > now()"
                )
            self._known = set(peers)
        for gone in set(self._channels) - {e for _, e in peers}:
            await self._channels.pop(gone).close()
            self._stubs.pop(gone, None)
        return peers

    async def _claim(self) -> list[_Parked]:
        """Due parked receipts, each pushed to its next offer time before the offer (so a
        second core process skips them, and a failed turn retries them later)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE pending_receipts p SET forward_attempts = p.forward_attempts + 1,"
                " forward_after = now() + least(%s::interval,"
                "  %s::interval * power(2, least(p.forward_attempts, 20)))"
                " WHERE p.id IN (SELECT id FROM pending_receipts"
                "  WHERE forward_after <= now() AND received_at <= now() - %s::interval"
                "  AND received_at > now() - %s::interval"
                "  ORDER BY forward_after LIMIT %s FOR UPDATE SKIP LOCKED)"
                " RETURNING p.id, p.interface_id, p.operator_keys, p.status, p.error_code,"
                " p.operator_state",
                (
                    self._s.max_backoff,
                    self._s.grace,
                    self._s.grace,
                    self._s.horizon,
                    self._s.batch,
                ),
            )
            rows = await cur.fetchall()
        return [
            _Parked(
                int(pid),
                rf.ForwardedReceipt(
                    interface_id=iface,
                    operator_keys=keys,
                    status=status,
                    error_code=err,
                    operator_state=state,
                ),
            )
            for pid, iface, keys, status, err, state in rows
        ]

    def _stub(self, endpoint: str) -> receipt_forward_pb2_grpc.ReceiptForwardServiceAsyncStub:
        stub = self._stubs.get(endpoint)
        if stub is None:
            channel = open_channel(endpoint, self._tls)
            self._channels[endpoint] = channel
            stub = self._stubs[endpoint] = receipt_forward_pb2_grpc.ReceiptForwardServiceStub(
                channel
            )
        return stub
