"""The agent's etcd seam (Patroni's DCS): every timing-critical call has the retry timeout as
its deadline; every write that decides who is master is a compare-and-set transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc
from etcd3aio import Etcd3Client, EtcdError, prefix_range_end
from etcd3aio._protobuf import Compare
from etcd3aio.kv import KVService
from prometheus_client import Counter

from rcs_cluster import view as v
from rcs_runtime.peer_tls import MutualTls

log = logging.getLogger(__name__)

ETCD_REQUESTS = Counter(
    "rcs_cluster_etcd_requests_total", "Requests this agent sent to etcd, by kind", ["kind"]
)
# What an unreachable, restarting or slow etcd raises through etcd3aio.
EtcdFailure = (EtcdError, grpc.aio.AioRpcError, asyncio.TimeoutError, OSError)


class Dcs:
    def __init__(
        self,
        endpoints: list[str],
        cluster: str,
        *,
        retry_timeout: float,
        tls: MutualTls | None = None,
    ) -> None:
        self._client = Etcd3Client(
            endpoints,
            ca_cert=tls.ca if tls else None,  # etcd over mutual TLS: our CA, cert and key
            cert_chain=tls.cert if tls else None,
            cert_key=tls.key if tls else None,
            rpc_max_attempts=1,  # the HA loop is the retry; a call must end by its deadline
            watch_reconnect_backoff_seconds=0.1,
            watch_max_reconnect_backoff_seconds=1.0,
        )
        self.cluster = cluster
        self._timeout = retry_timeout

    async def open(self) -> None:
        await self._client.connect()

    async def close(self) -> None:
        await self._client.close()

    @property
    def _kv(self) -> KVService:
        assert self._client.kv is not None, "Dcs.open() first"
        return self._client.kv

    async def grant(self, ttl: int) -> int:
        ETCD_REQUESTS.labels("lease_grant").inc()
        assert self._client.lease is not None
        return int((await self._client.lease.grant(ttl, timeout=self._timeout)).ID)

    async def renew(self, lease: int) -> bool:
        """One keep-alive; False when the lease is gone (expired or revoked)."""
        ETCD_REQUESTS.labels("lease_keepalive").inc()
        assert self._client.lease is not None
        stream = self._client.lease.keep_alive(lease)
        try:
            async with asyncio.timeout(self._timeout):
                async for response in stream:
                    return int(response.TTL) > 0
        finally:
            stream.cancel()
        # A stream that ends unanswered (the connection dropped) says nothing of the lease.
        raise ConnectionError("etcd closed the keep-alive stream without an answer")

    async def revoke(self, lease: int) -> None:
        ETCD_REQUESTS.labels("lease_revoke").inc()
        assert self._client.lease is not None
        await self._client.lease.revoke(lease, timeout=self._timeout)

    async def register(self, reg: v.Registration, lease: int) -> bool:
        """Create this installation's key on the lease unless a live one holds the id."""
        ETCD_REQUESTS.labels("txn").inc()
        key = v.installation_key(self.cluster, reg.installation_id)
        kv = self._kv
        result = await kv.txn(
            [kv.txn_compare_create_revision(key, 0)],
            [kv.txn_op_put(key, reg.encode(), lease=lease)],
            timeout=self._timeout,
        )
        return bool(result.succeeded)

    async def update_registration(self, reg: v.Registration, lease: int) -> None:
        """Rewrite our key, only while it is still ours (bound to our lease)."""
        ETCD_REQUESTS.labels("txn").inc()
        key = v.installation_key(self.cluster, reg.installation_id)
        kv = self._kv
        await kv.txn(
            # etcd3aio has no builder for a lease comparison: the message is etcd's own.
            [Compare(result=Compare.EQUAL, target=Compare.LEASE, key=key.encode(), lease=lease)],
            [kv.txn_op_put(key, reg.encode(), lease=lease)],
            timeout=self._timeout,
        )

    async def read(self) -> v.ClusterView:
        """Everything under the cluster's prefix in one linearizable range read."""
        ETCD_REQUESTS.labels("range").inc()
        p = v.prefix(self.cluster)
        got = await self._kv.get(p, range_end=prefix_range_end(p), timeout=self._timeout)
        kvs = [(kv.key, kv.value, int(kv.lease), int(kv.create_revision)) for kv in got.kvs]
        return v.parse_view(self.cluster, kvs, int(got.header.revision))

    async def campaign(self, me: int, lease: int) -> int:
        """Take the master key if it is absent, bound to our lease (Patroni's
        create_revision == 0 transaction); returns the new term (the key's create revision),
        0 when another installation holds the key."""
        ETCD_REQUESTS.labels("txn").inc()
        key = v.master_key(self.cluster)
        kv = self._kv
        result = await kv.txn(
            [kv.txn_compare_create_revision(key, 0)],
            [kv.txn_op_put(key, str(me), lease=lease)],
            timeout=self._timeout,
        )
        return int(result.header.revision) if result.succeeded else 0

    async def publish_revision(self, me: int, revision: int) -> bool:
        """Publish the settings revision, only while we hold the master key."""
        ETCD_REQUESTS.labels("txn").inc()
        kv = self._kv
        result = await kv.txn(
            [kv.txn_compare_value(v.master_key(self.cluster), str(me))],
            [kv.txn_op_put(v.revision_key(self.cluster), str(revision))],
            timeout=self._timeout,
        )
        return bool(result.succeeded)

    async def release(self, me: int, *, clear_switchover: bool = False) -> bool:
        """Delete the master key if it is ours."""
        ETCD_REQUESTS.labels("txn").inc()
        kv = self._kv
        ops = [kv.txn_op_delete(v.master_key(self.cluster))]
        if clear_switchover:
            ops.append(kv.txn_op_delete(v.switchover_key(self.cluster)))
        result = await kv.txn(
            [kv.txn_compare_value(v.master_key(self.cluster), str(me))],
            ops,
            timeout=self._timeout,
        )
        return bool(result.succeeded)

    async def clear_switchover(self) -> None:
        ETCD_REQUESTS.labels("delete").inc()
        await self._kv.delete(v.switchover_key(self.cluster), timeout=self._timeout)

    async def ask_switchover(self, switchover: v.Switchover, ttl: int) -> bool:
        """Ask the master named in ``switchover`` to step down; the request lapses with its
        own lease (2 x ttl) if nobody acts on it. Refused when the master changed meanwhile."""
        assert self._client.lease is not None
        ETCD_REQUESTS.labels("lease_grant").inc()
        lease = (await self._client.lease.grant(2 * ttl, timeout=self._timeout)).ID
        ETCD_REQUESTS.labels("txn").inc()
        kv = self._kv
        result = await kv.txn(
            [kv.txn_compare_value(v.master_key(self.cluster), str(switchover.master))],
            [kv.txn_op_put(v.switchover_key(self.cluster), switchover.encode(), lease=lease)],
            timeout=self._timeout,
        )
        return bool(result.succeeded)

    async def changes(self) -> AsyncIterator[None]:
        """Yields once per watch response under the prefix; etcd3aio reconnects the stream
        after a transient error (an etcd restart) from the next revision."""
        assert self._client.watch is not None
        ETCD_REQUESTS.labels("watch").inc()
        p = v.prefix(self.cluster)
        async for _ in self._client.watch.watch(p, range_end=prefix_range_end(p)):
            yield None
