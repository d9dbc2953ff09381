# ruff: noqa: N802 - the RPC methods carry the gRPC service's names
"""SettingsService RPCs for administrators (of the admin API and the web cabinet): set one's
password (`rcs admin-user`) and create the first one of a new installation with a generated
password (`rcs run`). Each change is one revision through rcs_core.settings.admins, so a
standby refuses it naming the master and copies the master's (hash only)."""

from __future__ import annotations

import re
import secrets

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.auth.passwords import hash_password
from rcs_core.settings import admins, credentials, store
from rcs_core.settings.policy import SettingsBase
from rcs_core.settings.writes import Ctx
from rcs_runtime.errors import RcsError, Reason

MIN_PASSWORD = 8
_LOGIN = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def _check_login(login: str) -> None:
    if not _LOGIN.fullmatch(login):
        raise RcsError(
            Reason.INVALID_REQUEST,
            "an administrator's login is 1 to 64 characters of [A-Za-z0-9_.@-]",
            field="login",
        )


class AdministratorSettings(SettingsBase):
    async def PutAdministrator(
        self, request: ss.PutAdministratorRequest, context: Ctx
    ) -> ss.PutAdministratorResponse:
        _check_login(request.login)
        if len(request.password) < MIN_PASSWORD:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"an administrator's password needs at least {MIN_PASSWORD} characters:"
                " choose a longer one",
                field="password",
            )
        password_hash = hash_password(request.password)  # slow on purpose: outside the lock
        async with self._pool.connection() as conn, conn.transaction():
            await store.lock_settings(conn)
            created = await credentials.admin_state(conn, request.login) is None
            revision = await admins.save_admin(
                conn, request.login, password_hash, actor=request.actor.login
            )
        return ss.PutAdministratorResponse(revision=revision, created=created)

    async def CreateFirstAdministrator(
        self, request: ss.CreateFirstAdministratorRequest, context: Ctx
    ) -> ss.CreateFirstAdministratorResponse:
        _check_login(request.login)
        password = secrets.token_urlsafe(12)
        password_hash = hash_password(password)
        async with self._pool.connection() as conn, conn.transaction():
            await store.lock_settings(conn)
            cur = await conn.execute("SELECT 1 FROM admins LIMIT 1")
            if await cur.fetchone():
                return ss.CreateFirstAdministratorResponse()
            revision = await admins.save_admin(
                conn, request.login, password_hash, actor=request.actor.login
            )
        return ss.CreateFirstAdministratorResponse(password=password, revision=revision)
