"""rpns's gRPC edge: ConnectorService for CHANNEL_PUSH (core's dispatcher hands pushes
here as it hands SMS to the SMPP connector), DeviceService and AppService.

SendMessages answers per message: ACCEPTED with the push id once the push and its
deliveries are stored (the sender fans it out after); REJECTED with rest_status.rst's push
code when nobody can get it; RETRY when the database is unreachable. A repeated message id
(the dispatcher retrying a call whose answer it lost) gets its first push id back and is
not fanned out again."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import psycopg
from psycopg_pool import AsyncConnectionPool

from rcs.common.v1 import channel_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs.rpns.v1 import app_service_pb2 as aps
from rcs.rpns.v1 import app_service_pb2_grpc, device_service_pb2_grpc
from rcs.rpns.v1 import device_service_pb2 as ds
from rcs_rpns.model import Code, InvalidInstallError, select_targets
from rcs_rpns.providers import payload
from rcs_rpns.providers.credentials import (
    ApnsKey,
    Credentials,
    FcmAccount,
    HmsClient,
    RustoreProject,
)
from rcs_rpns.registry import fields_from_proto, install_proto
from rcs_rpns.storage import apps, installs, pushes
from rcs_runtime.errors import RcsError, Reason

Ctx = grpc.aio.ServicerContext[Any, Any]
DEFAULT_VALIDITY = dt.timedelta(days=1)  # when core sends no valid_until
_APP_CACHE_SECONDS = 5.0


def _rejected(m: cs.OutboundMessage, code: Code, detail: str) -> cs.SendResult:
    return cs.SendResult(
        message_id=m.message_id,
        outcome=cs.SEND_OUTCOME_REJECTED,
        error_code=int(code),
        detail=detail,
        interface_id=m.interface_id,
    )


class PushConnectorServicer(connector_service_pb2_grpc.ConnectorServiceServicer):
    def __init__(
        self, pool: AsyncConnectionPool, interface_id: str, *, on_accepted: Callable[[], None]
    ) -> None:
        self._pool = pool
        self._interface_id = interface_id
        self._on_accepted = on_accepted  # wakes the sender
        self._apps: dict[tuple[str, str], tuple[float, apps.App | None]] = {}

    def _accepted(self, m: cs.OutboundMessage, push_id: int) -> cs.SendResult:
        return cs.SendResult(
            message_id=m.message_id,
            outcome=cs.SEND_OUTCOME_ACCEPTED,
            operator_message_ids=[str(push_id)],
            part_numbers=[1],
            part_count=1,
            receipt_scope=self._interface_id,
            interface_id=m.interface_id or self._interface_id,
        )

    async def SendMessages(
        self, request: cs.SendMessagesRequest, context: Ctx
    ) -> cs.SendMessagesResponse:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                results = await self._push_all(conn, list(request.messages))
        except (psycopg.OperationalError, OSError):
            return cs.SendMessagesResponse(
                results=[
                    cs.SendResult(
                        message_id=m.message_id,
                        outcome=cs.SEND_OUTCOME_RETRY,
                        detail="rpns_database_unavailable",
                        interface_id=m.interface_id,
                    )
                    for m in request.messages
                ]
            )
        self._on_accepted()
        return cs.SendMessagesResponse(results=results)

    async def _push_all(
        self, conn: psycopg.AsyncConnection, batch: list[cs.OutboundMessage]
    ) -> list[cs.SendResult]:
        """The whole batch in a few round trips: earlier pushes of the same messages, the
        installs of every recipient, then every new push and delivery at once."""
        done = await pushes.existing(conn, [m.message_id for m in batch])
        results: list[cs.SendResult | None] = [None] * len(batch)
        todo: list[tuple[int, cs.OutboundMessage, apps.App]] = []
        repeats: list[tuple[int, cs.OutboundMessage]] = []  # twice in this batch
        seen: set[str] = set()
        for n, m in enumerate(batch):
            if m.message_id in done:
                results[n] = self._accepted(m, done[m.message_id])
                continue
            if m.message_id in seen:
                repeats.append((n, m))
                continue
            seen.add(m.message_id)
            app, refusal = await self._check(conn, m)
            if refusal is not None:
                results[n] = refusal
            else:
                assert app is not None
                todo.append((n, m, app))
        found = await installs.candidates_of(
            conn, [(app.id, m.destination, m.push.external_user_id) for _, m, app in todo]
        )
        new: list[tuple[int, cs.OutboundMessage, pushes.NewPush]] = []
        for (n, m, app), candidates in zip(todo, found, strict=True):
            c = m.push
            selection = select_targets(
                candidates,
                by_user=bool(c.external_user_id),
                primary_only=c.primary_only,
                subscription=c.subscription,
                providers=list(c.providers),
                min_version=app.min_version,
            )
            if selection.code is not None:
                results[n] = _rejected(m, selection.code, selection.detail)
                continue
            valid_until = (
                m.valid_until.ToDatetime(dt.UTC)
                if m.HasField("valid_until")
                else dt.datetime.now(dt.UTC) + DEFAULT_VALIDITY
            )
            new.append(
                (
                    n,
                    m,
                    pushes.NewPush(
                        message_id=m.message_id,
                        interface_id=self._interface_id,
                        app_id=app.id,
                        content=c.SerializeToString(),
                        valid_until=valid_until,
                        install_ids=[t.install_id for t in selection.targets],
                    ),
                )
            )
        ids = await pushes.create(conn, [p for _, _, p in new])
        made = {}
        for (n, m, _), push_id in zip(new, ids, strict=True):
            results[n] = self._accepted(m, push_id)
            made[m.message_id] = results[n]
        for n, m in repeats:
            first = made.get(m.message_id)
            results[n] = first or next(
                r for r in results if r is not None and r.message_id == m.message_id
            )
        return [r for r in results if r is not None]

    async def _app(
        self, conn: psycopg.AsyncConnection, partner: str, service_number: str
    ) -> apps.App | None:
        key = (partner, service_number)
        cached = self._apps.get(key)
        if cached and time.monotonic() - cached[0] < _APP_CACHE_SECONDS:
            return cached[1]
        app = await apps.find(conn, partner, service_number)
        self._apps[key] = (time.monotonic(), app)
        return app

    async def _check(
        self, conn: psycopg.AsyncConnection, m: cs.OutboundMessage
    ) -> tuple[apps.App | None, cs.SendResult | None]:
        """The message's application, or its refusal (18 bad-params) before any lookup."""
        c = m.push
        if m.channel != channel_pb2.CHANNEL_PUSH:
            return None, _rejected(m, Code.BAD_PARAMS, "rpns sends CHANNEL_PUSH only")
        if not c.service_number:
            return None, _rejected(m, Code.BAD_PARAMS, "serviceNumber (the application) is missing")
        app = await self._app(conn, m.partner, c.service_number)
        if app is None:
            return None, _rejected(
                m, Code.BAD_PARAMS, f"no application with serviceNumber {c.service_number!r}"
            )
        if not c.title and not c.text:
            return None, _rejected(m, Code.BAD_PARAMS, "a push needs a title or a text")
        if c.custom_payload_json:
            try:
                json.loads(c.custom_payload_json)
            except ValueError:
                return None, _rejected(m, Code.BAD_PARAMS, "custom payload is not JSON")
        if len(c.collapse_key.encode()) > 64:
            return None, _rejected(m, Code.BAD_PARAMS, "collapse key over 64 bytes")
        if not payload.fits_surely(c) and payload.largest_size(c) > payload.MAX_PAYLOAD:
            return None, _rejected(m, Code.BAD_PARAMS, "push over 4 KB for the push services")
        if not c.external_user_id and not m.destination:
            return None, _rejected(m, Code.BAD_PARAMS, "neither a number nor externalUserId")
        return app, None


def _app_id(raw: str) -> int:
    if not raw.isdigit():
        raise RcsError(Reason.APP_NOT_FOUND, f"app_id {raw!r} is not an application id")
    return int(raw)


def _install_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise RcsError(
            Reason.INSTALL_NOT_FOUND, f"install_id {raw!r} is not an install id"
        ) from None


def _invalid(err: InvalidInstallError) -> RcsError:
    return RcsError(Reason.INVALID_REQUEST, str(err), field=err.field)


class DeviceServicer(device_service_pb2_grpc.DeviceServiceServicer):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def RegisterInstall(
        self, request: ds.RegisterInstallRequest, context: Ctx
    ) -> ds.RegisterInstallResponse:
        try:
            fields = fields_from_proto(request.fields)
        except InvalidInstallError as err:
            raise _invalid(err) from None
        async with self._pool.connection() as conn, conn.transaction():
            if await apps.get(conn, _app_id(request.app_id)) is None:
                raise RcsError(Reason.APP_NOT_FOUND)
            stored = await installs.register(conn, int(request.app_id), fields)
        return ds.RegisterInstallResponse(install=install_proto(stored))

    async def UpdateInstall(
        self, request: ds.UpdateInstallRequest, context: Ctx
    ) -> ds.UpdateInstallResponse:
        try:
            fields = fields_from_proto(request.fields)
            async with self._pool.connection() as conn, conn.transaction():
                stored = await installs.update(conn, None, _install_id(request.install_id), fields)
        except InvalidInstallError as err:
            raise _invalid(err) from None
        if stored is None:
            raise RcsError(Reason.INSTALL_NOT_FOUND)
        return ds.UpdateInstallResponse(install=install_proto(stored))

    async def UnregisterInstall(
        self, request: ds.UnregisterInstallRequest, context: Ctx
    ) -> ds.UnregisterInstallResponse:
        async with self._pool.connection() as conn, conn.transaction():
            stored = await installs.unregister(conn, None, _install_id(request.install_id))
        if stored is None:
            raise RcsError(Reason.INSTALL_NOT_FOUND)
        return ds.UnregisterInstallResponse(install=install_proto(stored))

    async def GetInstall(
        self, request: ds.GetInstallRequest, context: Ctx
    ) -> ds.GetInstallResponse:
        async with self._pool.connection() as conn:
            stored = await installs.get(conn, _install_id(request.install_id))
        if stored is None:
            raise RcsError(Reason.INSTALL_NOT_FOUND)
        return ds.GetInstallResponse(install=install_proto(stored))

    async def ListInstalls(
        self, request: ds.ListInstallsRequest, context: Ctx
    ) -> ds.ListInstallsResponse:
        size = request.page_size or 100
        if not 1 <= size <= 1000:
            raise RcsError(Reason.INVALID_REQUEST, "page_size is 1 to 1000", field="page_size")
        after = None
        if request.page_token:
            try:
                when, _, last = base64.urlsafe_b64decode(request.page_token).decode().partition("|")
                after = (dt.datetime.fromisoformat(when), _install_id(last))
            except (ValueError, RcsError):
                raise RcsError(
                    Reason.INVALID_REQUEST,
                    "page_token is not one this service gave",
                    field="page_token",
                ) from None
        async with self._pool.connection() as conn:
            page = await installs.page(
                conn,
                _app_id(request.app_id),
                phone=request.phone,
                external_user_id=request.external_user_id,
                after=after,
                limit=size + 1,
            )
        token = ""
        if len(page) > size:
            page = page[:size]
            final = page[-1]
            token = base64.urlsafe_b64encode(
                f"{final.created_at.isoformat()}|{final.id}".encode()
            ).decode()
        return ds.ListInstallsResponse(
            installs=[install_proto(i) for i in page], next_page_token=token
        )


def credentials_of(a: aps.App) -> Credentials:
    return Credentials(
        apns=ApnsKey(
            team_id=a.apns.team_id,
            key_id=a.apns.key_id,
            private_key_pem=a.apns.private_key_pem,
            topic=a.apns.topic,
        )
        if a.HasField("apns")
        else None,
        fcm=FcmAccount(
            project_id=a.fcm.project_id,
            client_email=a.fcm.client_email,
            private_key_pem=a.fcm.private_key_pem,
            private_key_id=a.fcm.private_key_id,
        )
        if a.HasField("fcm")
        else None,
        hms=HmsClient(app_id=a.hms.app_id, app_secret=a.hms.app_secret)
        if a.HasField("hms")
        else None,
        rustore=RustoreProject(
            project_id=a.rustore.project_id, service_token=a.rustore.service_token
        )
        if a.HasField("rustore")
        else None,
    )


def app_proto(app: apps.App, *, with_secrets: bool = False) -> aps.App:
    """An application as AppService shows it: keys and secrets only to PutApp's caller."""
    c = app.credentials
    out = aps.App(
        app_id=str(app.id),
        partner=app.partner,
        service_number=app.service_number,
        api_key=app.api_key if with_secrets else "",
        min_version=app.min_version,
    )
    if c.apns:
        out.apns.CopyFrom(
            aps.ApnsCredentials(team_id=c.apns.team_id, key_id=c.apns.key_id, topic=c.apns.topic)
        )
    if c.fcm:
        out.fcm.CopyFrom(
            aps.FcmCredentials(project_id=c.fcm.project_id, client_email=c.fcm.client_email)
        )
    if c.hms:
        out.hms.CopyFrom(aps.HmsCredentials(app_id=c.hms.app_id))
    if c.rustore:
        out.rustore.CopyFrom(aps.RustoreCredentials(project_id=c.rustore.project_id))
    return out


class AppServicer(app_service_pb2_grpc.AppServiceServicer):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def PutApp(self, request: aps.PutAppRequest, context: Ctx) -> aps.PutAppResponse:
        a = request.app
        if not a.partner or not a.service_number:
            raise RcsError(
                Reason.INVALID_REQUEST,
                "an application needs partner and service_number",
                field="app",
            )
        async with self._pool.connection() as conn, conn.transaction():
            stored = await apps.put(
                conn,
                partner=a.partner,
                service_number=a.service_number,
                min_version=a.min_version,
                credentials=credentials_of(a),
            )
        return aps.PutAppResponse(app=app_proto(stored, with_secrets=True))

    async def GetApp(self, request: aps.GetAppRequest, context: Ctx) -> aps.GetAppResponse:
        async with self._pool.connection() as conn:
            stored = await apps.get(conn, _app_id(request.app_id))
        if stored is None:
            raise RcsError(Reason.APP_NOT_FOUND)
        return aps.GetAppResponse(app=app_proto(stored))

    async def ListApps(self, request: aps.ListAppsRequest, context: Ctx) -> aps.ListAppsResponse:
        async with self._pool.connection() as conn:
            found = await apps.list_apps(conn, request.partner)
        return aps.ListAppsResponse(apps=[app_proto(a) for a in found])
