"""The installation's side of the registry: the live peers (installation id → advertised core
endpoint) its core offers parked receipts to (migration 0095, rcs_core/delivery/
receipt_forwarder.py), so that core never asks etcd."""

from __future__ import annotations

from collections.abc import Mapping

from psycopg_pool import AsyncConnectionPool


class PeersStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def replace(self, peers: Mapping[int, str]) -> None:
        """Make cluster_peers exactly ``peers``, in one transaction."""
        ids = sorted(peers)
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM cluster_peers WHERE NOT installation_id = ANY(%s)", (ids,)
            )
            await conn.execute(
                "INSERT INTO cluster_peers (installation_id, core_endpoint)"
                " SELECT * FROM unnest(%s::int[], %s::text[])"
                " ON CONFLICT (installation_id) DO UPDATE SET"
                " core_endpoint = excluded.core_endpoint, seen_at = now()",
                (ids, [peers[i] for i in ids]),
            )
