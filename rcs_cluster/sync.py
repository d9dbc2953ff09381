"""Settings sync of a standby: pull the revisions after its own from the master's core
(SettingsSyncService.ListSettingsChanges), apply them in its own core, page by page."""

from __future__ import annotations

import logging

from rcs.core.v1 import settings_sync_pb2 as sync
from rcs.core.v1 import settings_sync_pb2_grpc
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.peer_tls import MutualTls

log = logging.getLogger(__name__)


class SettingsPuller:
    def __init__(self, own_core: str, *, timeout: float, tls: MutualTls | None = None) -> None:
        self._tls = tls  # to the master's core (its peer port), not to our own
        self._own: settings_sync_pb2_grpc.SettingsSyncServiceAsyncStub = (
            settings_sync_pb2_grpc.SettingsSyncServiceStub(open_channel(own_core))
        )
        self._timeout = timeout
        self._master_target = ""
        self._master: settings_sync_pb2_grpc.SettingsSyncServiceAsyncStub | None = None

    def _master_stub(self, target: str) -> settings_sync_pb2_grpc.SettingsSyncServiceAsyncStub:
        if self._master is None or target != self._master_target:
            self._master = settings_sync_pb2_grpc.SettingsSyncServiceStub(
                open_channel(target, self._tls)
            )
            self._master_target = target
        return self._master

    async def pull(self, master_id: int, master_core: str, since: int, until: int) -> int:
        """Apply the master's revisions after ``since`` up to at least ``until``; returns the
        revision reached (gRPC errors propagate: the HA loop tries again next turn)."""
        master = self._master_stub(master_core)
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
