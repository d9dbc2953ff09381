# ruff: noqa: N802 - the RPC methods carry the gRPC service's names
"""SettingsService.ListAuditEntries: the audit log for administrators (admin API, CLI, and
later the web cabinet), newest first, filtered by actor, entity and time."""

from __future__ import annotations

import datetime as dt
import json

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.settings import audit_store as audit_log
from rcs_core.settings.policy import SettingsBase
from rcs_core.settings.writes import Ctx, page, token
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.timestamps import timestamp


class AuditSettings(SettingsBase):
    async def ListAuditEntries(
        self, request: ss.ListAuditEntriesRequest, context: Ctx
    ) -> ss.ListAuditEntriesResponse:
        after, size = page(request.page_token, request.page_size)
        if after and not after.isdigit():
            raise RcsError(Reason.INVALID_REQUEST, "page_token is not one we issued")
        since = request.since.ToDatetime(tzinfo=dt.UTC) if request.HasField("since") else None
        until = request.until.ToDatetime(tzinfo=dt.UTC) if request.HasField("until") else None
        if since is not None and until is not None and since >= until:
            raise RcsError(Reason.INVALID_REQUEST, "since must be before until", field="since")
        async with self._pool.connection() as conn:
            rows = await audit_log.page(
                conn,
                actor=request.actor,
                entity=request.entity,
                since=since,
                until=until,
                before_id=int(after) if after else None,
                limit=size + 1,
            )
        entries = [
            ss.AuditEntry(
                id=r.id,
                time=timestamp(r.created_at),
                actor=r.actor,
                remote_ip=r.remote_ip,
                action=r.action,
                target=r.target,
                revision=r.revision or 0,
                details_json=json.dumps(r.details, ensure_ascii=False),
            )
            for r in rows[:size]
        ]
        more = len(rows) > size
        return ss.ListAuditEntriesResponse(
            entries=entries, next_page_token=token(str(rows[size - 1].id)) if more else ""
        )
