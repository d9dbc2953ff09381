# ruff: noqa: N802 - the RPC methods carry the gRPC service's names
"""SettingsService RPCs for partner API keys: issue (the clear key is returned once),
list (without secrets), revoke. Audited, but not settings revisions: keys are credentials,
and a settings rollback must never bring a revoked key back."""

from __future__ import annotations

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.auth import api_keys_store as api_keys
from rcs_core.auth import partners_store as partners
from rcs_core.auth.api_keys_store import ApiKeyRow
from rcs_core.settings import store
from rcs_core.settings.policy import SettingsBase
from rcs_core.settings.spec import Conn
from rcs_core.settings.writes import Ctx
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.timestamps import timestamp


def _out(row: ApiKeyRow) -> ss.ApiKey:
    key = ss.ApiKey(
        id=row.id,
        partner=row.partner,
        prefix=row.prefix,
        note=row.note,
        create_time=timestamp(row.created_at),
    )
    if row.revoked_at is not None:
        key.revoke_time.CopyFrom(timestamp(row.revoked_at))
    return key


async def _partner_id(conn: Conn, login: str) -> int:
    partner = await partners.by_login(conn, login)
    if partner is None:
        raise RcsError(Reason.NOT_FOUND, f"no partner {login!r}", field="partner")
    return partner.id


class ApiKeySettings(SettingsBase):
    async def CreateApiKey(
        self, request: ss.CreateApiKeyRequest, context: Ctx
    ) -> ss.CreateApiKeyResponse:
        if len(request.note) > 200:
            raise RcsError(Reason.INVALID_REQUEST, "note is at most 200 characters", field="note")
        async with self._pool.connection() as conn, conn.transaction():
            row, key = await api_keys.create(
                conn, await _partner_id(conn, request.partner), request.note
            )
            await store.audit(
                conn,
                actor=request.actor.login,
                remote_ip=request.actor.remote_ip,
                action="api_key.create",
                target=f"partner {row.partner}",
                details={"id": row.id, "prefix": row.prefix},
            )
        return ss.CreateApiKeyResponse(api_key=_out(row), key=key)

    async def ListApiKeys(
        self, request: ss.ListApiKeysRequest, context: Ctx
    ) -> ss.ListApiKeysResponse:
        async with self._pool.connection() as conn:
            rows = await api_keys.of_partner(conn, await _partner_id(conn, request.partner))
        return ss.ListApiKeysResponse(api_keys=[_out(r) for r in rows])

    async def RevokeApiKey(
        self, request: ss.RevokeApiKeyRequest, context: Ctx
    ) -> ss.RevokeApiKeyResponse:
        async with self._pool.connection() as conn, conn.transaction():
            row = await api_keys.revoke(conn, await _partner_id(conn, request.partner), request.id)
            if row is None:
                raise RcsError(
                    Reason.NOT_FOUND, f"partner {request.partner!r} has no key {request.id}"
                )
            await store.audit(
                conn,
                actor=request.actor.login,
                remote_ip=request.actor.remote_ip,
                action="api_key.revoke",
                target=f"partner {row.partner}",
                details={"id": row.id, "prefix": row.prefix},
            )
        return ss.RevokeApiKeyResponse(api_key=_out(row))
