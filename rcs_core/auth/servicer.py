"""gRPC edge of partners' authentication: AuthService."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import duration_pb2
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import (
    auth_service_pb2,
    auth_service_pb2_grpc,
)
from rcs_core.auth import api_keys_store as api_keys
from rcs_core.auth import partners_store as partners
from rcs_core.auth import smpp_sessions_store as smpp_sessions
from rcs_core.auth.guard import FailedAuthGuard, Subject
from rcs_core.auth.passwords import hash_password, needs_rehash, verify_password
from rcs_core.settings import store as settings_store
from rcs_runtime.errors import RcsError, Reason

log = logging.getLogger(__name__)
Ctx = grpc.aio.ServicerContext[Any, Any]
SMPP_LEASE_DEFAULT = dt.timedelta(seconds=60)
SMPP_LEASE_MAX = dt.timedelta(hours=1)
MAX_SMPP_SESSION_IDS = 100_000
MAX_SMPP_ID_LENGTH = 200
_SMPP_MODES = {
    auth_service_pb2.SMPP_BIND_MODE_TRANSMITTER: "transmitter",
    auth_service_pb2.SMPP_BIND_MODE_RECEIVER: "receiver",
    auth_service_pb2.SMPP_BIND_MODE_TRANSCEIVER: "transceiver",
}


class AuthServicer(auth_service_pb2_grpc.AuthServiceServicer):
    def __init__(self, pool: AsyncConnectionPool, guard: FailedAuthGuard | None = None) -> None:
        self._pool = pool
        self._guard = guard or FailedAuthGuard(pool)

    async def AuthenticatePartner(
        self, request: auth_service_pb2.AuthenticatePartnerRequest, context: Ctx
    ) -> auth_service_pb2.AuthenticatePartnerResponse:
        return await self._guard.guarded(
            Subject("partner", request.login, request.remote_ip),
            lambda: self._authenticate_partner(request),
        )

    async def _authenticate_partner(
        self, request: auth_service_pb2.AuthenticatePartnerRequest
    ) -> auth_service_pb2.AuthenticatePartnerResponse:
        async with self._pool.connection() as conn:
            partner = await partners.by_login(conn, request.login)
        if partner is None:
            raise RcsError(Reason.INVALID_LOGIN, "unknown login")
        # The address first: no password guessing from outside the partner's networks.
        if not partner.allows(request.remote_ip):
            raise RcsError(
                Reason.IP_NOT_ALLOWED, f"{request.remote_ip or 'this address'} is not allowed"
            )
        # An SMPP bind carries at most 8 characters: a partner with a longer password has
        # an SMPP password of its own (Partner.smpp_password_hash).
        own_smpp = request.smpp and partner.smpp_password_hash is not None
        expected = partner.smpp_hash if request.smpp else partner.password_hash
        # Password hashing is deliberately slow: keep it off the event loop.
        ok = await asyncio.to_thread(verify_password, request.password, expected)
        if not ok:
            raise RcsError(
                Reason.INVALID_PASSWORD,
                "wrong SMPP password for this login"
                if own_smpp
                else "wrong password for this login",
            )
        stored = (
            expected
            if own_smpp
            else await self._rehash("partners", partner.login, expected, request.password)
        )
        return auth_service_pb2.AuthenticatePartnerResponse(
            login=partner.login,
            default_ttl_seconds=partner.default_ttl_seconds,
            max_smpp_sessions=partner.max_smpp_sessions,
            credential_tag=credential_tag(stored),
            smpp_standard_tlvs_only=partner.smpp_standard_tlvs_only,
            service_type=partner.service_type,
        )

    async def AuthenticateApiKey(
        self, request: auth_service_pb2.AuthenticateApiKeyRequest, context: Ctx
    ) -> auth_service_pb2.AuthenticateApiKeyResponse:
        answer = await self._guard.guarded(
            Subject("apikey", "", request.remote_ip), lambda: self._authenticate_key(request)
        )
        # Each check is audited: the gateways cache a good key per address, so this is
        # its first use from an address within their cache period.
        await self._audit(answer.login, request.remote_ip, "api_key.use", f"partner {answer.login}")
        return answer

    async def _authenticate_key(
        self, request: auth_service_pb2.AuthenticateApiKeyRequest
    ) -> auth_service_pb2.AuthenticateApiKeyResponse:
        async with self._pool.connection() as conn:
            login = await api_keys.partner_of(conn, request.key)
            partner = await partners.by_login(conn, login) if login else None
        if partner is None:
            raise RcsError(Reason.INVALID_PASSWORD, "unknown or revoked API key")
        if not partner.allows(request.remote_ip):
            raise RcsError(
                Reason.IP_NOT_ALLOWED, f"{request.remote_ip or 'this address'} is not allowed"
            )
        return auth_service_pb2.AuthenticateApiKeyResponse(
            login=partner.login, default_ttl_seconds=partner.default_ttl_seconds
        )

    async def AuthenticateAdmin(
        self, request: auth_service_pb2.AuthenticateAdminRequest, context: Ctx
    ) -> auth_service_pb2.AuthenticateAdminResponse:
        # The same guard as partners': administrators' passwords are no easier to guess.
        answer = await self._guard.guarded(
            Subject("admin", request.login, request.remote_ip),
            lambda: self._authenticate_admin(request),
        )
        await self._audit(request.login, request.remote_ip, "admin.login", f"admin {request.login}")
        return answer

    async def _audit(self, actor: str, remote_ip: str, action: str, target: str) -> None:
        async with self._pool.connection() as conn:
            await settings_store.audit(
                conn, actor=actor, remote_ip=remote_ip, action=action, target=target
            )

    async def _authenticate_admin(
        self, request: auth_service_pb2.AuthenticateAdminRequest
    ) -> auth_service_pb2.AuthenticateAdminResponse:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT password_hash FROM admins WHERE login = %s", (request.login,)
            )
            row = await cur.fetchone()
        if row is None:
            raise RcsError(Reason.INVALID_LOGIN, "unknown administrator")
        if not await asyncio.to_thread(verify_password, request.password, row[0]):
            raise RcsError(Reason.INVALID_PASSWORD, "wrong password for this administrator")
        await self._rehash("admins", request.login, row[0], request.password)
        return auth_service_pb2.AuthenticateAdminResponse(login=request.login)

    # -- what the gateways' caches depend on ---------------------------------------------

    async def GetAuthRevision(
        self, request: auth_service_pb2.GetAuthRevisionRequest, context: Ctx
    ) -> auth_service_pb2.GetAuthRevisionResponse:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT (SELECT revision FROM settings_revision),"
                " (SELECT count(*) FROM partner_api_keys WHERE revoked_at IS NOT NULL)"
            )
            row = await cur.fetchone()
        assert row is not None
        return auth_service_pb2.GetAuthRevisionResponse(
            settings_revision=row[0] or 0, revoked_api_keys=row[1]
        )

    async def CheckSmppSessions(
        self, request: auth_service_pb2.CheckSmppSessionsRequest, context: Ctx
    ) -> auth_service_pb2.CheckSmppSessionsResponse:
        if len(request.sessions) > MAX_SMPP_SESSION_IDS:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"at most {MAX_SMPP_SESSION_IDS} sessions a call",
                field="sessions",
            )
        found: dict[str, partners.Partner | None] = {}
        async with self._pool.connection() as conn:
            for login in {s.login for s in request.sessions}:
                found[login] = await partners.by_login(conn, login)
        refused = []
        for session in request.sessions:
            partner = found[session.login]
            if partner is None:
                reason = Reason.INVALID_LOGIN
            elif not partner.allows(session.remote_ip):
                reason = Reason.IP_NOT_ALLOWED
            elif credential_tag(partner.smpp_hash) != session.credential_tag:
                reason = Reason.INVALID_PASSWORD
            else:
                continue
            refused.append(
                auth_service_pb2.RefusedSmppSession(session_id=session.session_id, reason=reason)
            )
        return auth_service_pb2.CheckSmppSessionsResponse(refused=refused)

    # -- SMPP sessions over every gateway (auth/smpp_sessions_store.py) -----------------------

    async def ClaimSmppSession(
        self, request: auth_service_pb2.ClaimSmppSessionRequest, context: Ctx
    ) -> auth_service_pb2.ClaimSmppSessionResponse:
        _smpp_id(request.session_id, "session_id")
        _smpp_id(request.gateway_id, "gateway_id")
        mode = _SMPP_MODES.get(request.mode)
        if mode is None:
            raise RcsError(Reason.INVALID_REQUEST, "mode must be set", field="mode")
        lease = _smpp_lease(request.lease)
        async with self._pool.connection() as conn, conn.transaction():
            claim = await smpp_sessions.claim(
                conn,
                login=request.login,
                session_id=request.session_id,
                gateway_id=request.gateway_id,
                mode=mode,
                lease=lease,
            )
        if claim is None:
            raise RcsError(Reason.INVALID_LOGIN, "unknown login")
        if not claim.granted:
            raise RcsError(
                Reason.TOO_MANY_SESSIONS,
                f"{request.login} has {claim.bound} SMPP sessions bound, its limit",
            )
        return auth_service_pb2.ClaimSmppSessionResponse(
            bound_sessions=claim.bound, max_smpp_sessions=claim.limit
        )

    async def RenewSmppSessions(
        self, request: auth_service_pb2.RenewSmppSessionsRequest, context: Ctx
    ) -> auth_service_pb2.RenewSmppSessionsResponse:
        _smpp_id(request.gateway_id, "gateway_id")
        _smpp_session_count(request.session_ids)
        lease = _smpp_lease(request.lease)
        if not request.session_ids:
            return auth_service_pb2.RenewSmppSessionsResponse()
        async with self._pool.connection() as conn, conn.transaction():
            unknown = await smpp_sessions.renew(
                conn, request.gateway_id, list(request.session_ids), lease
            )
        return auth_service_pb2.RenewSmppSessionsResponse(unknown_session_ids=unknown)

    async def ReleaseSmppSessions(
        self, request: auth_service_pb2.ReleaseSmppSessionsRequest, context: Ctx
    ) -> auth_service_pb2.ReleaseSmppSessionsResponse:
        _smpp_session_count(request.session_ids)
        if not request.session_ids:
            return auth_service_pb2.ReleaseSmppSessionsResponse()
        async with self._pool.connection() as conn, conn.transaction():
            released = await smpp_sessions.release(conn, list(request.session_ids))
        return auth_service_pb2.ReleaseSmppSessionsResponse(released_count=released)

    async def _rehash(self, table: str, login: str, stored: str, password: str) -> str:
        """After a good login with an old-style hash (scrypt, or weaker Argon2 settings),
        store an Argon2id hash of the same password; only if nobody changed it meanwhile.
        Returns the hash stored now."""
        if not needs_rehash(stored):
            return stored
        fresh = await asyncio.to_thread(hash_password, password)
        query = {
            "partners": "UPDATE partners SET password_hash = %s"
            " WHERE login = %s AND password_hash = %s",
            "admins": "UPDATE admins SET password_hash = %s"
            " WHERE login = %s AND password_hash = %s",
        }[table]
        async with self._pool.connection() as conn:
            cur = await conn.execute(query, (fresh, login, stored))
        return fresh if cur.rowcount else stored


def credential_tag(password_hash: str) -> str:
    """Changes with the stored hash (a new password, a rehash); says nothing about the
    password itself (a digest of a salted hash)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def _smpp_id(value: str, field: str) -> None:
    if not 0 < len(value) <= MAX_SMPP_ID_LENGTH:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"{field} must have 1 to {MAX_SMPP_ID_LENGTH} characters",
            field=field,
        )


def _smpp_session_count(session_ids: Sequence[str]) -> None:
    if len(session_ids) > MAX_SMPP_SESSION_IDS:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"at most {MAX_SMPP_SESSION_IDS} session ids a call",
            field="session_ids",
        )


def _smpp_lease(lease: duration_pb2.Duration) -> dt.timedelta:
    """The lease asked for: zero means the default; positive, at most an hour."""
    value = lease.ToTimedelta()
    if not value:
        return SMPP_LEASE_DEFAULT
    if not dt.timedelta(0) < value <= SMPP_LEASE_MAX:
        raise RcsError(
            Reason.INVALID_REQUEST, "lease must be positive, at most an hour", field="lease"
        )
    return value
