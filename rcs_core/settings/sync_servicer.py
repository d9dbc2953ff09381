"""gRPC edge of the settings changes feed (SettingsSyncService): a master's core hands out
its revisions; a standby's core applies them (its cluster agent carries them across)."""

from __future__ import annotations

import datetime as dt
import json
import logging

from google.protobuf import timestamp_pb2
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import settings_sync_pb2 as sync
from rcs.core.v1 import settings_sync_pb2_grpc
from rcs_core.settings import sync_store as store
from rcs_core.settings.writes import Ctx
from rcs_runtime.errors import RcsError, Reason

MAX_PAGE = 1000
MAX_CHECKSUMS = 10_000
log = logging.getLogger(__name__)


def _to_wire(r: store.Revision) -> sync.SettingsChange:
    created = timestamp_pb2.Timestamp()
    created.FromDatetime(r.created_at)
    return sync.SettingsChange(
        revision=r.revision,
        actor=r.actor,
        remote_ip=r.remote_ip,
        create_time=created,
        summary=r.summary,
        changes_json=json.dumps(r.changes, ensure_ascii=False),
        payload_json=json.dumps(r.payload, ensure_ascii=False) if r.payload is not None else "",
        checksum=r.checksum or "",
    )


def _from_wire(c: sync.SettingsChange) -> store.Revision:
    try:
        changes = json.loads(c.changes_json or "[]")
        payload = json.loads(c.payload_json) if c.payload_json else None
    except ValueError as exc:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"revision {c.revision}: changes_json or payload_json is not JSON",
        ) from exc
    return store.Revision(
        c.revision,
        c.actor,
        c.remote_ip,
        c.create_time.ToDatetime(tzinfo=dt.UTC),
        c.summary,
        changes,
        payload,
        c.checksum,
    )


class SettingsSyncServicer(settings_sync_pb2_grpc.SettingsSyncServiceServicer):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def ListSettingsChanges(
        self, request: sync.ListSettingsChangesRequest, context: Ctx
    ) -> sync.ListSettingsChangesResponse:
        if request.since_revision < 0 or not 0 <= request.page_size <= MAX_PAGE:
            raise RcsError(
                Reason.INVALID_REQUEST, f"since_revision >= 0 and page_size 0 to {MAX_PAGE}"
            )
        async with self._pool.connection() as conn:
            revisions, current = await store.revisions_since(
                conn, request.since_revision, request.page_size or MAX_PAGE
            )
        return sync.ListSettingsChangesResponse(
            changes=[_to_wire(r) for r in revisions], current_revision=current
        )

    async def ApplySettingsChanges(
        self, request: sync.ApplySettingsChangesRequest, context: Ctx
    ) -> sync.ApplySettingsChangesResponse:
        revisions = [_from_wire(c) for c in request.changes]
        async with self._pool.connection() as conn, conn.transaction():
            reached = await store.apply_revisions(
                conn, revisions, master_id=request.master_installation_id
            )
        return sync.ApplySettingsChangesResponse(revision=reached, applied_count=len(revisions))

    async def ListSettingsChecksums(
        self, request: sync.ListSettingsChecksumsRequest, context: Ctx
    ) -> sync.ListSettingsChecksumsResponse:
        if request.up_to_revision < 0 or not 0 <= request.page_size <= MAX_CHECKSUMS:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"up_to_revision >= 0 and page_size 0 to {MAX_CHECKSUMS}",
            )
        async with self._pool.connection() as conn:
            rows, current = await store.checksums_up_to(
                conn, request.up_to_revision, request.page_size or MAX_CHECKSUMS
            )
        return sync.ListSettingsChecksumsResponse(
            checksums=[sync.RevisionChecksum(revision=r, checksum=c) for r, c in rows],
            current_revision=current,
        )

    async def RewindSettings(
        self, request: sync.RewindSettingsRequest, context: Ctx
    ) -> sync.RewindSettingsResponse:
        revisions = [_from_wire(c) for c in request.changes]
        async with self._pool.connection() as conn, conn.transaction():
            undone, reached = await store.rewind(
                conn, request.fork_revision, revisions, master_id=request.master_installation_id
            )
        log.error(  # loud: settings committed here were thrown away
            "settings_history_rewound",
            extra={
                "fork": request.fork_revision,
                "undone": undone,
                "applied": len(revisions),
                "revision": reached,
                "master": request.master_installation_id,
            },
        )
        return sync.RewindSettingsResponse(
            revision=reached, undone_count=undone, applied_count=len(revisions)
        )
