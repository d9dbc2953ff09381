"""The installation's side of the role: the cluster_role row its core reads on every settings
write (migration 0045), and the settings revision it has applied."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
from psycopg_pool import AsyncConnectionPool


class RoleStore:
    def __init__(self, pool: AsyncConnectionPool, cluster: str, dsn: str) -> None:
        self._pool = pool
        self._cluster = cluster
        self._dsn = dsn

    async def revision_changes(self) -> AsyncIterator[None]:
        """Yields whenever a settings revision commits in this installation's database
        (migration 0045 notifies ``rcs_settings_revision``), so that the master publishes
        it without waiting for its next turn."""
        async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
            await conn.execute("LISTEN rcs_settings_revision")
            async for _ in conn.notifies():
                yield None

    async def applied_revision(self) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT revision FROM settings_revision")
            row = await cur.fetchone()
            return int(row[0]) if row else 0

    async def be_master(self, me: int, core: str, term: int, valid_seconds: float) -> None:
        """Take settings writes until ``valid_seconds`` from now (database clock), unless
        renewed: the fence holds even if this agent freezes."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE cluster_role SET cluster = %s, role = 'master', master_id = %s,"
                " master_core = %s, term = %s,"
                " valid_until = clock_timestamp() + make_interval(secs => %s),"
                " changed_at = now()",
                (self._cluster, me, core, term, valid_seconds),
            )

    async def extend(self, term: int, valid_seconds: float) -> bool:
        """Push the master's deadline on (False when this term is no longer in the row)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE cluster_role SET valid_until = clock_timestamp()"
                " + make_interval(secs => %s) WHERE role = 'master' AND term = %s",
                (valid_seconds, term),
            )
            return cur.rowcount == 1

    async def be_standby(self, master: int | None, master_core: str, *, lock_wait: float) -> None:
        """Stop taking settings writes. The row lock waits for a settings transaction already
        past the trigger's check, so none commits after this returns; ``lock_wait`` bounds the
        wait (the deadline in the row fences anyway)."""
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "SELECT set_config('lock_timeout', %s, true)", (f"{int(lock_wait * 1000)}ms",)
            )
            await conn.execute(
                "UPDATE cluster_role SET cluster = %s, role = 'standby', master_id = %s,"
                " master_core = %s, valid_until = NULL, changed_at = now()"
                " WHERE (cluster, role, master_id, master_core)"
                " IS DISTINCT FROM (%s, 'standby', %s, %s)",
                (self._cluster, master, master_core, self._cluster, master, master_core),
            )

    async def be_lone_master(self) -> None:
        """No etcd: this installation is its own master, with no deadline."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE cluster_role SET cluster = %s, role = 'master', master_id = NULL,"
                " master_core = '', term = 0, valid_until = NULL, changed_at = now()",
                (self._cluster,),
            )


DbFailure = (psycopg.Error, OSError, TimeoutError)
