"""Settings sync of a standby: pull the revisions after its own from the master's core
(SettingsSyncService.ListSettingsChanges), apply them in its own core, page by page.

Before pulling from a master it has not checked yet, the standby compares its history with
the master's by revision and checksum (like a PostgreSQL timeline, not by number alone): a
standby that committed revisions the master never saw (it was the master before a failover)
or that is ahead of the master is rewound to the last revision both share, and the master's
after it applied, in one transaction of its core (RewindSettings)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import grpc
from prometheus_client import Counter

from rcs.core.v1 import settings_sync_pb2 as sync
from rcs.core.v1 import settings_sync_pb2_grpc
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.peer_tls import MutualTls

log = logging.getLogger(__name__)
REWINDS = Counter(
    "rcs_cluster_settings_rewinds_total",
    "Times this standby's settings history diverged from the master's and was rewound to it",
)
if TYPE_CHECKING:  # the async stub's type exists only in the .pyi
    Stub = settings_sync_pb2_grpc.SettingsSyncServiceAsyncStub


class SettingsPuller:
    def __init__(self, own_core: str, *, timeout: float, tls: MutualTls | None = None) -> None:
        self._tls = tls  # to the master's core (its peer port), not to our own
        self._own: Stub = settings_sync_pb2_grpc.SettingsSyncServiceStub(open_channel(own_core))
        self._timeout = timeout
        self._master_target = ""
        self._master: Stub | None = None
        self._checked: tuple[int, int] | None = None  # (master, revision) found on its history

    def _master_stub(self, target: str) -> Stub:
        if self._master is None or target != self._master_target:
            self._master = settings_sync_pb2_grpc.SettingsSyncServiceStub(
                open_channel(target, self._tls)
            )
            self._master_target = target
        return self._master

    def needs_pull(self, master_id: int, since: int, until: int) -> bool:
        """Behind the master, or not yet checked against this master's history."""
        return since < until or self._checked != (master_id, since)

    async def pull(self, master_id: int, master_core: str, since: int, until: int) -> int:
        """Apply the master's revisions after ``since`` up to at least ``until``, after
        rewinding a diverged history; returns the revision reached (gRPC errors propagate:
        the HA loop tries again next turn)."""
        master = self._master_stub(master_core)
        if self._checked != (master_id, since):
            fork = await self._fork(master, since)
            if fork is not None:
                since = await self._rewind(master, master_id, fork)
        try:
            reached = await self._apply(master, master_id, since, until)
        except grpc.aio.AioRpcError:
            self._checked = None  # a checksum refused on the way: compare histories again
            raise
        self._checked = (master_id, reached)
        return reached

    async def _apply(self, master: Stub, master_id: int, since: int, until: int) -> int:
        reached = since
        while reached < until:
            feed = await master.ListSettingsChanges(
                sync.ListSettingsChangesRequest(since_revision=reached), timeout=self._timeout
            )
            if not feed.changes:
                break
            applied = await self._own.ApplySettingsChanges(
                sync.ApplySettingsChangesRequest(
                    changes=feed.changes, master_installation_id=master_id
                ),
                timeout=self._timeout,
            )
            log.info(
                "settings_synced",
                extra={"master": master_id, "from": reached, "to": applied.revision},
            )
            reached = applied.revision
        return reached

    async def _checksums(self, stub: Stub, up_to: int) -> tuple[dict[int, str], int]:
        page = await stub.ListSettingsChecksums(
            sync.ListSettingsChecksumsRequest(up_to_revision=up_to), timeout=self._timeout
        )
        return {c.revision: c.checksum for c in page.checksums}, page.current_revision

    async def _fork(self, master: Stub, since: int) -> int | None:
        """None when our history up to ``since`` is the master's; else the last revision
        both histories share (0 when none)."""
        mine, _ = await self._checksums(self._own, since)
        theirs, current = await self._checksums(master, since)
        newest_mine = max(mine, default=0)
        same_newest = newest_mine == max(theirs, default=0)
        if since <= current and same_newest and mine.get(newest_mine) == theirs.get(newest_mine):
            return None
        # Checksums are chained: the newest revision with the same checksum on both sides
        # is the fork point. Without one, the revisions before either side's first recorded
        # one (bumps without a revision row: migrations, `rcs seed-demo`) count as shared.
        shared = [r for r, c in mine.items() if theirs.get(r) == c]
        if shared:
            return max(shared)
        return max(0, min([*mine, *theirs], default=since + 1) - 1)

    async def _rewind(self, master: Stub, master_id: int, fork: int) -> int:
        changes: list[sync.SettingsChange] = []
        while True:
            feed = await master.ListSettingsChanges(
                sync.ListSettingsChangesRequest(
                    since_revision=changes[-1].revision if changes else fork
                ),
                timeout=self._timeout,
            )
            changes += feed.changes
            if not feed.changes or changes[-1].revision >= feed.current_revision:
                break
        log.error(  # loud: this installation's own settings revisions are thrown away
            "settings_history_diverged",
            extra={"master": master_id, "fork": fork, "master_revisions": len(changes)},
        )
        done = await self._own.RewindSettings(
            sync.RewindSettingsRequest(
                fork_revision=fork, changes=changes, master_installation_id=master_id
            ),
            timeout=self._timeout,
        )
        REWINDS.inc()
        log.error(
            "settings_rewound",
            extra={"master": master_id, "undone": done.undone_count, "to": done.revision},
        )
        return int(done.revision)
