"""What rcs_cluster relies on in etcd3aio, against a real etcd: a transaction that creates a
key only when it is absent, bound to a lease that expires; and a watch that keeps delivering
after etcd is restarted (the reason this client was chosen, REFERENCE.md)."""

from __future__ import annotations

import asyncio

from etcd3aio import Etcd3Client

from tests.cluster.etcd_process import EtcdProcess


async def test_create_if_absent_on_a_lease_expires_with_the_lease(etcd: EtcdProcess) -> None:
    async with Etcd3Client([etcd.endpoint]) as client:
        assert client.kv is not None
        assert client.lease is not None
        lease = await client.lease.grant(2)
        kv = client.kv

        async def take(value: str, lease_id: int) -> bool:
            result = await kv.txn(
                [kv.txn_compare_create_revision("/t/master", 0)],
                [kv.txn_op_put("/t/master", value, lease=lease_id)],
            )
            return bool(result.succeeded)

        assert await take("a", lease.ID)
        assert not await take("b", lease.ID)  # held: the second candidate loses
        got = await kv.get("/t/master")
        assert [kv_.value for kv_ in got.kvs] == [b"a"]
        deadline = asyncio.get_running_loop().time() + 10
        while (await kv.get("/t/master")).kvs:
            assert asyncio.get_running_loop().time() < deadline, "the lease never expired"
            await asyncio.sleep(0.2)
        assert await take("b", (await client.lease.grant(2)).ID)


async def test_watch_delivers_events_after_etcd_restarts(etcd: EtcdProcess) -> None:
    async with Etcd3Client(
        [etcd.endpoint],
        watch_reconnect_backoff_seconds=0.1,
        watch_max_reconnect_backoff_seconds=0.5,
    ) as client:
        assert client.kv is not None
        assert client.watch is not None
        seen: asyncio.Queue[bytes] = asyncio.Queue()

        async def watch() -> None:
            assert client.watch is not None
            async for response in client.watch.watch("/t/key"):
                for event in response.events:
                    await seen.put(event.kv.value)

        task = asyncio.create_task(watch())
        try:
            await asyncio.sleep(0.3)  # the watch is created
            await client.kv.put("/t/key", "before")
            assert await asyncio.wait_for(seen.get(), 10) == b"before"

            etcd.kill()
            etcd.start()  # same data directory and ports
            await client.kv.put("/t/key", "after", max_attempts=20)
            assert await asyncio.wait_for(seen.get(), 20) == b"after"
        finally:
            task.cancel()
