"""Reads that may be a little stale (reports, message lists, status pulls) go to a streaming
replica when one is configured (SPEC F21), so they never load the master.

``ReadPools.reader()`` hands out the replica's pool while the replica answers, is in
recovery and lags at most ``max_lag_seconds``; otherwise it hands out the master's pool and
says so loudly: a warning in the log (once per change of state) and
``rcs_replica_fallback_total{reason}`` per read. The lag is checked at most once per
``check_seconds`` and exported as ``rcs_replica_lag_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from prometheus_client import Counter, Gauge
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)

REPLICA_LAG = Gauge(
    "rcs_replica_lag_seconds",
    "Replay lag of the read replica (0 when it has replayed all it received; -1: down)",
)
FALLBACKS = Counter(
    "rcs_replica_fallback_total",
    "Reads served by the master because the replica was down, not a replica or too far behind",
    ["reason"],
)
READS = Counter("rcs_replica_reads_total", "Reads handed out, by the server that took them", ["on"])

# Lag as seen on the replica: nothing received and not yet replayed means it is current,
# however long ago the master last wrote (an idle master must not look like lag). Behind
# with no transaction replayed since it started: behind since its start, at most.
_LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
            THEN 0
            ELSE EXTRACT(epoch FROM now() - COALESCE(pg_last_xact_replay_timestamp(),
                                                     pg_postmaster_start_time()))
       END::float8
"""


@dataclass(frozen=True)
class ReplicaState:
    usable: bool
    reason: str  # "" when usable; down | not_in_recovery | lagging | not_configured
    lag_seconds: float


class ReadPools:
    """The master's pool and, optionally, a replica's; ``reader()`` picks one per read."""

    def __init__(
        self,
        master: AsyncConnectionPool,
        replica: AsyncConnectionPool | None,
        *,
        max_lag_seconds: float = 30.0,
        check_seconds: float = 2.0,
        check_timeout_seconds: float = 2.0,
    ) -> None:
        self.master = master
        self.replica = replica
        self.max_lag_seconds = max_lag_seconds
        self.check_seconds = check_seconds
        self.check_timeout_seconds = check_timeout_seconds
        self._state = ReplicaState(replica is not None, "" if replica else "not_configured", 0.0)
        self._checked_at = -float("inf")
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        master: AsyncConnectionPool,
        replica_dsn: str,
        *,
        max_lag_seconds: float,
        check_seconds: float,
        max_size: int,
    ) -> ReadPools:
        """With an empty ``replica_dsn`` every read goes to the master (no replica set up).
        A replica down at start-up does not stop the process: its pool keeps trying to
        connect in the background and reads go to the master until it answers."""
        replica: AsyncConnectionPool | None = None
        if replica_dsn:
            replica = AsyncConnectionPool(
                replica_dsn, min_size=1, max_size=max_size, open=False, timeout=5
            )
            await replica.open(wait=False)
        return cls(master, replica, max_lag_seconds=max_lag_seconds, check_seconds=check_seconds)

    async def close(self) -> None:
        if self.replica is not None:
            await self.replica.close()

    async def state(self) -> ReplicaState:
        """The replica's state, checked again when the last check is older than check_seconds."""
        if self.replica is None:
            return self._state
        async with self._lock:
            if time.monotonic() - self._checked_at >= self.check_seconds:
                self._set(await self._check(self.replica))
                self._checked_at = time.monotonic()
            return self._state

    async def watch(self) -> None:
        """Keeps the lag metric and the state current between reads (a task per process)."""
        while self.replica is not None:
            await self.state()
            await asyncio.sleep(max(self.check_seconds, 0.5))

    async def reader(self) -> AsyncConnectionPool:
        """The pool this read should use: the replica when usable, else the master."""
        state = await self.state()
        if state.usable and self.replica is not None:
            READS.labels("replica").inc()
            return self.replica
        if state.reason != "not_configured":
            FALLBACKS.labels(state.reason).inc()
        READS.labels("master").inc()
        return self.master

    async def _check(self, replica: AsyncConnectionPool) -> ReplicaState:
        try:
            async with asyncio.timeout(self.check_timeout_seconds):
                async with replica.connection() as conn:
                    row = await (await conn.execute(_LAG_SQL)).fetchone()
        except Exception as exc:  # any failure to reach it means: read from the master
            log.debug("replica_check_failed", extra={"error": repr(exc)})
            return ReplicaState(False, "down", -1.0)
        assert row is not None
        in_recovery, lag = bool(row[0]), float(row[1])
        if not in_recovery:
            return ReplicaState(False, "not_in_recovery", 0.0)
        if lag > self.max_lag_seconds:
            return ReplicaState(False, "lagging", lag)
        return ReplicaState(True, "", lag)

    def _set(self, new: ReplicaState) -> None:
        REPLICA_LAG.set(new.lag_seconds)
        old, self._state = self._state, new
        if new.usable and not old.usable:
            log.warning("replica_reads_resumed", extra={"lag_seconds": new.lag_seconds})
        elif not new.usable and (old.usable or old.reason != new.reason):
            log.warning(
                "replica_unusable_reading_from_master",
                extra={
                    "reason": new.reason,
                    "lag_seconds": new.lag_seconds,
                    "max_lag_seconds": self.max_lag_seconds,
                    "hint": "check the replica's server and its streaming from the master "
                    "(pg_stat_wal_receiver); reads go to the master meanwhile",
                },
            )
