# ruff: noqa: N802 - the RPC methods carry the gRPC service's names
"""SettingsService RPCs for partner API keys: issue (the clear key is returned once),
list (without secrets), revoke. Each change is a settings revision (a standby refuses it and
copies the master's, hash only: rcs_core.settings.credentials), which a rollback skips."""

from __future__ import annotations

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.auth import api_keys_store as api_keys
from rcs_core.auth import partners_store as partners
from rcs_core.auth.api_keys_store import ApiKeyRow
from rcs_core.settings import credentials, store
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


async def _commit(
    conn: Conn,
    actor: ss.Actor,
    key_id: int,
    before: credentials.ApiKeyState | None,
    action: str,
) -> None:
    """The key's change as a settings revision (refused on a standby, copied by its sync)."""
    after = await credentials.api_key_state(conn, str(key_id))
    assert after is not None
    await store.commit_revision(
        conn,
        actor=actor.login,
        remote_ip=actor.remote_ip,
        summary=f"partner {after['partner']}: {action} API key {after['prefix']}…",
        changes=[store.Change(credentials.API_KEY, str(key_id), before, after)],
        action=f"api_key.{action}",
    )


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
            await _commit(conn, request.actor, row.id, None, "create")
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
            before = await credentials.api_key_state(conn, str(request.id))
            row = await api_keys.revoke(conn, await _partner_id(conn, request.partner), request.id)
            if row is None:
                raise RcsError(
                    Reason.NOT_FOUND, f"partner {request.partner!r} has no key {request.id}"
                )
            if before is not None and before["revoked_at"] is None:
                await _commit(conn, request.actor, row.id, before, "revoke")
        return ss.RevokeApiKeyResponse(api_key=_out(row))
