"""Admin API for mailings (`/api/admin/v1/mailings…`): a thin face on core's
MailingService, with the same auth, bodies and errors as the rest of the admin API.

    GET  mailings[?partner=&pageSize=&pageToken=]     list, newest first, with progress
    POST mailings {"spec": MailingSpec, "recipients": [MailingRecipient, …]}
    GET  mailings/{id}                                 one, with live progress
    POST mailings/{id}:start | :pause | :resume | :cancel
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message

from gateways.rest import admin
from gateways.rpc_errors import rcs_error
from rcs.core.v1 import mailing_service_pb2 as ms
from rcs_runtime.errors import RcsError, Reason

PATH = f"{admin.PREFIX}/mailings"
MAX_RECIPIENTS = 100_000  # in one JSON body; larger mailings come as files (FTP, CLI)
_STREAM_BATCH = 5000
_ACTIONS = {
    "start": ("StartMailing", ms.StartMailingRequest),
    "pause": ("PauseMailing", ms.PauseMailingRequest),
    "resume": ("ResumeMailing", ms.ResumeMailingRequest),
    "cancel": ("CancelMailing", ms.CancelMailingRequest),
}


async def _call(request: web.Request, method: str, message: Message) -> Message:
    a = request.app[admin.ADMIN]
    try:
        result: Message = await getattr(a.mailings, method)(message, timeout=a.timeout)
    except grpc.aio.AioRpcError as err:
        raise rcs_error(err) from err
    return result


async def list_mailings(request: web.Request) -> web.StreamResponse:
    await admin._actor(request)
    query = ms.ListMailingsRequest(partner=request.query.get("partner", ""), **admin._page(request))
    return admin._answer(await _call(request, "ListMailings", query))


async def get_mailing(request: web.Request) -> web.StreamResponse:
    await admin._actor(request)
    query = ms.GetMailingRequest(mailing_id=request.match_info["id"])
    return admin._answer(await _call(request, "GetMailing", query))


async def change_mailing(request: web.Request) -> web.StreamResponse:
    await admin._actor(request)
    action = _ACTIONS.get(request.match_info["action"])
    if action is None:
        raise RcsError(Reason.INVALID_REQUEST, "the action is one of :start :pause :resume :cancel")
    method, message = action
    return admin._answer(await _call(request, method, message(mailing_id=request.match_info["id"])))


def _create_body(doc: Any) -> tuple[ms.MailingSpec, list[ms.MailingRecipient]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("spec"), dict):
        raise RcsError(Reason.INVALID_REQUEST, 'send {"spec": {…}, "recipients": [{…}, …]}')
    recipients = doc.get("recipients", [])
    if not isinstance(recipients, list) or len(recipients) > MAX_RECIPIENTS:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"recipients: a list of at most {MAX_RECIPIENTS}; send bigger mailings as a file"
            " (FTP or `rcs mailing create`)",
            field="recipients",
        )
    try:
        spec = json_format.ParseDict(doc["spec"], ms.MailingSpec())
        items = [json_format.ParseDict(r, ms.MailingRecipient()) for r in recipients]
    except json_format.ParseError as exc:
        raise RcsError(Reason.INVALID_REQUEST, f"the body does not fit the API: {exc}") from exc
    return spec, items


async def create_mailing(request: web.Request) -> web.StreamResponse:
    await admin._actor(request)
    try:
        doc = json.loads(await request.read() or b"{}")
    except ValueError as exc:
        raise RcsError(Reason.INVALID_REQUEST, "the body is not JSON") from exc
    spec, recipients = _create_body(doc)

    async def stream() -> AsyncIterator[ms.CreateMailingRequest]:
        yield ms.CreateMailingRequest(spec=spec)
        for i in range(0, len(recipients), _STREAM_BATCH):
            batch = ms.MailingRecipients(recipients=recipients[i : i + _STREAM_BATCH])
            yield ms.CreateMailingRequest(recipients=batch)

    a = request.app[admin.ADMIN]
    try:
        answer = await a.mailings.CreateMailing(stream(), timeout=a.timeout * 6)
    except grpc.aio.AioRpcError as err:
        raise rcs_error(err) from err
    return admin._answer(answer, status=200 if answer.existing else 201)


def add_mailing_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(PATH, list_mailings, name="admin_mailings")
    r.add_post(PATH, create_mailing, name="admin_create_mailing")
    r.add_get(f"{PATH}/{{id:[0-9]+}}", get_mailing, name="admin_mailing")
    r.add_post(f"{PATH}/{{id:[0-9]+}}:{{action}}", change_mailing, name="admin_mailing_action")
