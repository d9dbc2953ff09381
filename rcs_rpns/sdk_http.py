"""The REST endpoints the mobile SDK calls (push_sdk.rst: the app holds applicationId,
apiKey and endpointURL). Registration calls carry ``X-Api-Key``; receipts carry the push id
in the path and the device's installationId or token in the body, which only the device
that got the push knows.

    POST   /api/sdk/v1/installations                  register (a known token: refresh)
    GET    /api/sdk/v1/installations/{id}              the install
    PATCH  /api/sdk/v1/installations/{id}              update the fields given
    DELETE /api/sdk/v1/installations/{id}              unregister
    POST   /api/sdk/v1/pushes/{pushId}/delivered       the push reached the device
    POST   /api/sdk/v1/pushes/{pushId}/opened          the user opened it

Refusals: ``{"error": {"code": "<reason>", "description": "...", "field": "..."}}`` with
the catalogue's HTTP status (400 for a malformed registration, nothing stored).
Receipts are idempotent: a repeat answers 200 and changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from rcs_rpns.model import InstallFields, InvalidInstallError, Platform, validated
from rcs_rpns.registry import install_json
from rcs_rpns.storage import apps, installs, pushes
from rcs_runtime.errors import CATALOGUE, Reason

_BOOLS = {"pushEnabled": True, "osPushEnabled": True, "primary": False}


def _refuse(reason: Reason, description: str = "", field: str = "") -> web.Response:
    entry = CATALOGUE[reason]
    error: dict[str, str] = {"code": reason, "description": description or entry.summary}
    if field:
        error["field"] = field
    return web.json_response({"error": error}, status=entry.http_status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInstallError("body", "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise InvalidInstallError("body", "the body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str, default: str = "") -> str:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInstallError(name, f"{name} must be a string")
    return value


def _fields(body: dict[str, Any], base: InstallFields | None = None) -> InstallFields:
    """The install described by ``body``; with ``base``, fields missing keep its values."""
    unknown = set(body) - {
        "platform",
        "token",
        "phone",
        "externalUserId",
        "subscriptions",
        "appVersion",
        *_BOOLS,
    }
    if unknown:
        raise InvalidInstallError(sorted(unknown)[0], f"unknown field {sorted(unknown)[0]!r}")
    platform_name = _text(body, "platform", base.platform.name if base else "").upper()
    if platform_name not in Platform.__members__:
        raise InvalidInstallError(
            "platform", "platform must be one of IOS, ANDROID, HUAWEI, RUSTORE"
        )
    subscriptions = body.get("subscriptions", list(base.subscriptions) if base else [])
    if not isinstance(subscriptions, list) or not all(isinstance(s, str) for s in subscriptions):
        raise InvalidInstallError("subscriptions", "subscriptions must be a list of strings")
    flags: dict[str, bool] = {}
    for name, default in _BOOLS.items():
        value = body.get(name)
        if value is None:
            value = default if base is None else _flag(base, name)
        if not isinstance(value, bool):
            raise InvalidInstallError(name, f"{name} must be true or false")
        flags[name] = value
    return validated(
        platform=Platform[platform_name],
        token=_text(body, "token", base.token if base else ""),
        phone=_text(body, "phone", (base.phone or "") if base else ""),
        external_user_id=_text(
            body, "externalUserId", (base.external_user_id or "") if base else ""
        ),
        subscriptions=subscriptions,
        push_enabled=flags["pushEnabled"],
        os_push_enabled=flags["osPushEnabled"],
        app_version=_text(body, "appVersion", base.app_version if base else ""),
        primary=flags["primary"],
    )


def _flag(base: InstallFields, name: str) -> bool:
    return {
        "pushEnabled": base.push_enabled,
        "osPushEnabled": base.os_push_enabled,
        "primary": base.primary,
    }[name]


def _uuid(raw: str) -> str | None:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return None


def build_sdk_app(pool: AsyncConnectionPool, *, on_receipt: Callable[[], None]) -> web.Application:
    async def app_of(request: web.Request) -> apps.App | None:
        key = request.headers.get("X-Api-Key", "")
        if not key:
            return None
        async with pool.connection() as conn:
            return await apps.by_api_key(conn, key)

    async def register(request: web.Request) -> web.Response:
        app = await app_of(request)
        if app is None:
            return _refuse(Reason.INVALID_API_KEY)
        try:
            fields = _fields(await _body(request))
        except InvalidInstallError as err:
            return _refuse(Reason.INVALID_REQUEST, str(err), err.field)
        async with pool.connection() as conn, conn.transaction():
            stored = await installs.register(conn, app.id, fields)
        return web.json_response(install_json(stored))

    async def get(request: web.Request) -> web.Response:
        app = await app_of(request)
        if app is None:
            return _refuse(Reason.INVALID_API_KEY)
        async with pool.connection() as conn:
            install_id = _uuid(request.match_info["id"])
            stored = await installs.get(conn, install_id) if install_id else None
        if stored is None or stored.app_id != app.id:
            return _refuse(Reason.INSTALL_NOT_FOUND)
        return web.json_response(install_json(stored))

    async def update(request: web.Request) -> web.Response:
        app = await app_of(request)
        if app is None:
            return _refuse(Reason.INVALID_API_KEY)
        async with pool.connection() as conn, conn.transaction():
            install_id = _uuid(request.match_info["id"])
            current = await installs.get(conn, install_id) if install_id else None
            if current is None or current.app_id != app.id:
                return _refuse(Reason.INSTALL_NOT_FOUND)
            try:
                fields = _fields(await _body(request), current.fields)
                stored = await installs.update(conn, app.id, current.id, fields)
            except InvalidInstallError as err:
                return _refuse(Reason.INVALID_REQUEST, str(err), err.field)
        assert stored is not None
        return web.json_response(install_json(stored))

    async def unregister(request: web.Request) -> web.Response:
        app = await app_of(request)
        if app is None:
            return _refuse(Reason.INVALID_API_KEY)
        install_id = _uuid(request.match_info["id"])
        if install_id is None:
            return _refuse(Reason.INSTALL_NOT_FOUND)
        async with pool.connection() as conn, conn.transaction():
            stored = await installs.unregister(conn, app.id, install_id)
        if stored is None:
            return _refuse(Reason.INSTALL_NOT_FOUND)
        return web.json_response(install_json(stored))

    async def receipt(request: web.Request, *, opened: bool) -> web.Response:
        raw = request.match_info["push"]
        try:
            body = await _body(request)
            install_id = _text(body, "installationId") or None
            token = _text(body, "token") or None
        except InvalidInstallError as err:
            return _refuse(Reason.INVALID_REQUEST, str(err), err.field)
        if not raw.isdigit() or (install_id is None and token is None):
            return _refuse(Reason.PUSH_NOT_FOUND, "give the pushId and installationId or token")
        if install_id is not None:
            install_id = _uuid(install_id)
            if install_id is None:
                return _refuse(Reason.PUSH_NOT_FOUND)
        async with pool.connection() as conn, conn.transaction():
            found = await pushes.confirm(
                conn, int(raw), install_id=install_id, token=token, opened=opened
            )
        if not found:
            return _refuse(Reason.PUSH_NOT_FOUND)
        on_receipt()
        return web.json_response({"pushId": raw, "status": "OPENED" if opened else "DELIVERED"})

    async def delivered(request: web.Request) -> web.Response:
        return await receipt(request, opened=False)

    async def opened(request: web.Request) -> web.Response:
        return await receipt(request, opened=True)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/sdk/v1/installations", register)
    app.router.add_get("/api/sdk/v1/installations/{id}", get)
    app.router.add_patch("/api/sdk/v1/installations/{id}", update)
    app.router.add_delete("/api/sdk/v1/installations/{id}", unregister)
    app.router.add_post("/api/sdk/v1/pushes/{push}/delivered", delivered)
    app.router.add_post("/api/sdk/v1/pushes/{push}/opened", opened)
    app.router.add_get("/healthz", healthz)
    return app
