"""OpenAPI 3.1 description of the gateway, served at ``GET /openapi.json``.

Admin bodies and answers are SettingsService messages in protobuf's JSON mapping, so their
schemas are generated from the message descriptors (one source of truth with the gRPC
contract). The partner APIs follow Rapporto's documents and are described by hand here.
A test checks that every route the gateway serves is described.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateways.rest import admin
from gateways.rest.dwh_reports import XLSX
from gateways.rest.http_v5_parsing import SHORT_TEXTS, V5_CODES
from rcs.core.v1 import mailing_service_pb2 as ms
from rcs.core.v1 import report_service_pb2
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.dwh.v1 import dwh_report_service_pb2 as dwh
from rcs.routing.v1 import routing_service_pb2 as rs

_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int32", "minimum": 0},
    # protobuf's JSON mapping writes 64-bit integers as strings
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number"},
}
_WELL_KNOWN = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "description": 'seconds, e.g. "3600s"'},
    "google.protobuf.FieldMask": {"type": "string", "description": "comma-separated fields"},
}


class _Schemas:
    """Message descriptors → JSON Schemas under components/schemas, by full name."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, d: Descriptor) -> dict[str, Any]:
        if d.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[d.full_name])
        if d.full_name not in self.components:
            self.components[d.full_name] = {}  # placeholder: recursion stops here
            self.components[d.full_name] = {
                "type": "object",
                "properties": {f.json_name: self._field(f) for f in d.fields},
            }
        return {"$ref": f"#/components/schemas/{d.full_name}"}

    def _field(self, f: FieldDescriptor) -> dict[str, Any]:
        if f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type is not None:
            one = self.ref(f.message_type)
        elif f.type == FieldDescriptor.TYPE_ENUM and f.enum_type is not None:
            one = {"type": "string", "enum": [v.name for v in f.enum_type.values]}
        else:
            one = dict(_SCALARS.get(f.type, {}))
        if f.is_repeated:
            return {"type": "array", "items": one}
        return one


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, body: dict[str, Any] | None, answer: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "OK", **answer}},
    }
    if body is not None:
        op["requestBody"] = {"required": True, **body}
    return op


# (method, path under the admin prefix, summary, body message or None, answer message)
_ADMIN: tuple[tuple[str, str, str, Any, Any], ...] = (
    ("GET", "/partners", "List partners", None, ss.ListPartnersResponse),
    ("POST", "/partners", "Create a partner", ss.CreatePartnerRequest, ss.CreatePartnerResponse),
    ("GET", "/partners/{login}", "One partner", None, ss.GetPartnerResponse),
    ("PATCH", "/partners/{login}", "Change fields given", ss.Partner, ss.UpdatePartnerResponse),
    ("GET", "/blacklist", "One black list", None, ss.ListBlacklistEntriesResponse),
    (
        "POST",
        "/blacklist",
        "Add black list entries",
        ss.AddBlacklistEntriesRequest,
        ss.AddBlacklistEntriesResponse,
    ),
    (
        "POST",
        "/blacklist:remove",
        "Remove black list entries",
        ss.RemoveBlacklistEntriesRequest,
        ss.RemoveBlacklistEntriesResponse,
    ),
    ("GET", "/operators", "List operators", None, ss.ListOperatorsResponse),
    ("PUT", "/operators/{name}", "Put an operator", ss.Operator, ss.PutOperatorResponse),
    ("GET", "/interfaces", "List interfaces", None, ss.ListInterfacesResponse),
    ("PUT", "/interfaces/{id}", "Put an interface", ss.Interface, ss.PutInterfaceResponse),
    ("DELETE", "/interfaces/{id}", "Delete an interface", None, ss.DeleteInterfaceResponse),
    ("GET", "/verification-policy", "Inactive numbers", None, ss.GetVerificationPolicyResponse),
    (
        "PATCH",
        "/verification-policy",
        "Change the inactive-number policy",
        ss.VerificationPolicy,
        ss.UpdateVerificationPolicyResponse,
    ),
    ("GET", "/revisions", "Settings revisions", None, ss.ListRevisionsResponse),
    ("GET", "/audit", "Audit log", None, ss.ListAuditEntriesResponse),
    ("POST", "/revisions/{revision}:rollback", "Rollback", None, ss.RollbackSettingsResponse),
    ("GET", "/region-time-zones", "Region zones", None, ss.ListRegionTimeZonesResponse),
    ("PUT", "/region-time-zones", "Set a zone", ss.RegionTimeZone, ss.PutRegionTimeZoneResponse),
    ("GET", "/tariffs", "Tariffs, the history included", None, ss.ListTariffsResponse),
    ("PUT", "/tariffs", "Add or change a price", ss.Tariff, ss.PutTariffResponse),
    ("POST", "/tariffs:delete", "Remove a tariff row", ss.Tariff, ss.DeleteTariffResponse),
    (
        "GET",
        "/partner-channels",
        "Partners' messenger channels (?partner=)",
        None,
        ss.ListPartnerChannelsResponse,
    ),
    (
        "PUT",
        "/partner-channels",
        "Set a partner's channel: identities, templates, default TTL",
        ss.PartnerChannel,
        ss.PutPartnerChannelResponse,
    ),
    (
        "POST",
        "/partner-channels:delete",
        "Take a channel from a partner ({partner, channel})",
        ss.DeletePartnerChannelRequest,
        ss.DeletePartnerChannelResponse,
    ),
    (
        "GET",
        "/messenger-interfaces",
        "Messenger provider interfaces (no secrets)",
        None,
        ss.ListMessengerInterfacesResponse,
    ),
    (
        "PUT",
        "/messenger-interfaces/{id}",
        "Put a messenger provider interface",
        ss.MessengerInterface,
        ss.PutMessengerInterfaceResponse,
    ),
    (
        "DELETE",
        "/messenger-interfaces/{id}",
        "Delete a messenger provider interface",
        None,
        ss.DeleteMessengerInterfaceResponse,
    ),
    (
        "GET",
        "/whitelists/{partner}/{mailing}",
        "One mailing's white list",
        None,
        ss.ListWhitelistEntriesResponse,
    ),
    (
        "POST",
        "/whitelists/{partner}/{mailing}",
        "Add white list entries",
        ss.AddWhitelistEntriesRequest,
        ss.AddWhitelistEntriesResponse,
    ),
    (
        "POST",
        "/whitelists/{partner}/{mailing}:remove",
        "Remove white list entries",
        ss.RemoveWhitelistEntriesRequest,
        ss.RemoveWhitelistEntriesResponse,
    ),
    ("POST", "/route:explain", "Explain a route", rs.RouteQuery, rs.ExplainRouteResponse),
    ("GET", "/partners/{login}/api-keys", "API keys", None, ss.ListApiKeysResponse),
    (
        "POST",
        "/partners/{login}/api-keys",
        "Issue an API key (shown once)",
        ss.CreateApiKeyRequest,
        ss.CreateApiKeyResponse,
    ),
    (
        "POST",
        "/partners/{login}/api-keys/{id}:revoke",
        "Revoke an API key",
        None,
        ss.RevokeApiKeyResponse,
    ),
)


# The DWH's reports per cluster (gateways/rest/dwh_reports.py): verb, summary, body, answer.
_DWH: tuple[tuple[str, str, Any, Any], ...] = (
    ("summary", "DWH summary report", dwh.GetSummaryReportRequest, dwh.GetSummaryReportResponse),
    (
        "chronological",
        "DWH chronological report",
        dwh.GetChronologicalReportRequest,
        dwh.GetChronologicalReportResponse,
    ),
    (
        "financial",
        "DWH financial report",
        dwh.GetFinancialReportRequest,
        dwh.GetFinancialReportResponse,
    ),
)


def _mailing_ops(schemas: _Schemas) -> dict[tuple[str, str], dict[str, Any]]:
    """The admin API's mailings (gateways/rest/admin_mailings.py)."""
    p = f"{admin.PREFIX}/mailings"
    mailing = _json(schemas.ref(ms.GetMailingResponse.DESCRIPTOR))
    create = {
        "type": "object",
        "properties": {
            "spec": schemas.ref(ms.MailingSpec.DESCRIPTOR),
            "recipients": {"type": "array", "items": schemas.ref(ms.MailingRecipient.DESCRIPTOR)},
        },
        "required": ["spec"],
    }
    return {
        ("GET", p): _op(
            "List mailings", None, _json(schemas.ref(ms.ListMailingsResponse.DESCRIPTOR))
        ),
        ("POST", p): _op(
            "Create a mailing",
            _json(create),
            _json(schemas.ref(ms.CreateMailingResponse.DESCRIPTOR)),
        ),
        ("GET", f"{p}/{{id}}"): _op("One mailing with its progress", None, mailing),
        ("POST", f"{p}/{{id}}:{{action}}"): _op(
            "Start, pause, resume or cancel a mailing (action start|pause|resume|cancel)",
            None,
            _json(schemas.ref(ms.StartMailingResponse.DESCRIPTOR)),
        ),
    }


def _admin_ops(schemas: _Schemas) -> dict[tuple[str, str], dict[str, Any]]:
    """(method, path) → operation, for the admin API."""
    p = admin.PREFIX
    ops: dict[tuple[str, str], dict[str, Any]] = _mailing_ops(schemas)
    for method, path, summary, body, answer in _ADMIN:
        request = _json(schemas.ref(body.DESCRIPTOR)) if body is not None else None
        ops[(method, p + path)] = _op(summary, request, _json(schemas.ref(answer.DESCRIPTOR)))
    for verb, summary, body, answer in _DWH:
        ops[("POST", f"{p}/dwh/reports:{verb}")] = _op(
            summary, _json(schemas.ref(body.DESCRIPTOR)), _json(schemas.ref(answer.DESCRIPTOR))
        )
    ops[("POST", f"{p}/dwh/reports:export")] = _op(
        "A DWH report as an Excel file",
        _json(schemas.ref(dwh.ExportReportRequest.DESCRIPTOR)),
        {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}},
    )
    for e in admin.POLICY_ENTITIES:
        one = f"{p}/{e.path}/{{key}}"
        answer = getattr(ss, f"List{e.plural}Response").DESCRIPTOR
        ops[("GET", f"{p}/{e.path}")] = _op(f"List {e.path}", None, _json(schemas.ref(answer)))
        ops[("PUT", one)] = _op(
            f"Create or replace one of {e.path}",
            _json(schemas.ref(getattr(ss, e.noun).DESCRIPTOR)),
            _json(schemas.ref(getattr(ss, f"Put{e.noun}Response").DESCRIPTOR)),
        )
        ops[("DELETE", one)] = _op(
            f"Delete one of {e.path}",
            None,
            _json(schemas.ref(getattr(ss, f"Delete{e.noun}Response").DESCRIPTOR)),
        )
    return ops


_STRING = {"type": "string"}
_V6_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "integer"}, "description": _STRING},
        },
        "extendedDescription": _STRING,
    },
}


_CLOCK = {"type": "string", "pattern": "^([01]?[0-9]|2[0-4]):[0-5][0-9]$", "examples": ["10:00"]}
_SCHEDULE = {
    "type": "object",
    "description": "Sending hours in Moscow time (UTC+3); a message accepted outside them"
    " waits for the next opening. The deadline ends its validity.",
    "properties": {
        "timeBegin": _CLOCK,
        "timeEnd": _CLOCK,
        "weekdaysSchedule": {"type": "string", "pattern": "^[1-7]*$", "examples": ["12345"]},
        "deadline": {"type": "string", "examples": ["2024-05-10T16:29:30+0300"]},
    },
}
_USE_TIME_DIFF = {
    "type": "boolean",
    "description": "true: scheduleInfo's hours and weekdays are the subscriber's local time"
    " (the zone of the number's region); false or absent: Moscow time (UTC+3)",
}


_V6_MESSAGE = {
    "type": "object",
    "description": "SMS (rest_sms.rst) or PUSH (rest_push.rst: destAddr may be left out"
    " when externalUserId names the user)",
    "properties": {
        "type": {"type": "string", "enum": ["SMS", "PUSH"]},
        "data": {
            "type": "object",
            "properties": {
                "text": _STRING,
                "serviceNumber": _STRING,
                "ttl": {"type": "integer"},
                "ttlUnit": {"type": "string", "enum": ["SECONDS", "MINUTES", "HOURS"]},
                "title": {"type": "string", "maxLength": 80},
                "externalUserId": _STRING,
                "primaryOn": {"type": "boolean"},
                "content": {"type": "object"},
                "deviceSubscriptions": {"type": "array", "items": _STRING},
                "customPayload": {"type": "object"},
                "callbackData": _STRING,
                "extraOptions": {"type": "array", "items": {"type": "object"}},
            },
        },
    },
}
_CASCADE_LINK = {
    "type": "object",
    "description": "rest_cascade.rst: sent when the previous message is not DELIVERED (or READ)"
    " within its ttl; nextLink nests the next one",
    "properties": {
        "state": {"type": "string", "enum": ["DELIVERED", "READ"]},
        "message": _V6_MESSAGE,
        "nextLink": {"type": "object"},
    },
}


def _partner_ops() -> dict[tuple[str, str], dict[str, Any]]:
    sms = {
        "type": "object",
        "required": ["login", "password", "message"],
        "properties": {
            "login": _STRING,
            "password": _STRING,
            "id": _STRING,
            "destAddr": _STRING,
            "smsPriority": {"type": "integer", "minimum": 0, "maximum": 2},
            "registeredDelivery": {
                "type": "integer",
                "enum": [0, 1, 2],
                "description": "reports: 0 none, 1 every final status (default), 2 failures",
            },
            "notifyUrl": {
                "type": "string",
                "minLength": 1,
                "maxLength": 2000,
                "description": "where this message's reports go; an incorrect address sends"
                " them to the partner's configured URL",
            },
            "scheduleInfo": _SCHEDULE,
            "useTimeDiff": _USE_TIME_DIFF,
            "extraParam": {"type": "string", "description": "trafficType=N,mailing=NAME,…"},
            "message": _V6_MESSAGE,
            "cascadeChainLink": _CASCADE_LINK,
        },
    }
    batch_message = {
        "type": "object",
        "required": ["from", "to", "text"],
        "properties": {
            "from": _STRING,
            "to": _STRING,
            "text": {"type": "string", "maxLength": 2000},
            "id": {"type": "string", "maxLength": 50},
            "validity": {"type": "integer", "minimum": 60, "maximum": 259200},
            "priority": {"type": "integer", "minimum": 0, "maximum": 3},
            "callbackUrl": {"type": "string", "format": "uri", "maxLength": 2000},
        },
    }
    batch_result = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "enum": ["OK", "REJECTED"]},
            "messageId": {"type": ["string", "null"]},
            "id": _STRING,
            "description": _STRING,
            "reasons": {
                "type": "array",
                "items": {"type": "object", "properties": {"key": _STRING, "ref": _STRING}},
            },
        },
    }
    required = ("serviceId", "pass", "clientId", "message")
    optional = ("source", "ptag", "partnerMsgId", "smsPriority", "output", "flash")
    v5_params = [
        {"name": n, "in": "query", "required": n in required, "schema": _STRING}
        for n in (*required, *optional)
    ] + [
        {
            "name": "sending_time",
            "in": "query",
            "description": "hh_hh: the hours the message may go in, in time_zone or, without"
            " it, the subscriber's local time",
            "schema": {"type": "string", "pattern": "^[0-9]{1,2}_[0-9]{1,2}$"},
        },
        {
            "name": "time_zone",
            "in": "query",
            "description": "±hh:mm, the zone of sending_time's hours",
            "schema": {"type": "string", "pattern": "^[+-][0-9]{2}:[0-9]{2}$"},
        },
    ]
    text = {"content": {"text/plain": {"schema": _STRING}, "application/xml": {"schema": _STRING}}}
    # http_sms.rst, "Коды ошибок": as text/plain the HTTP status is the code; with
    # output=xml every answer is 200 and the code is in the envelope.
    v5_answer = {
        "200": {"description": "OK and the id, or the XML envelope", **text},
        **{
            str(code): {"description": f"{SHORT_TEXTS[code]} (text/plain)", **text}
            for code in sorted(V5_CODES)
        },
    }
    form = {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}}
    batch = {
        "type": "object",
        "required": ["messages"],
        "properties": {
            "scheduleInfo": _SCHEDULE,
            "useTimeDiff": _USE_TIME_DIFF,
            "shortenUrl": {"type": "boolean", "description": "true is refused"},
            "messages": {"type": "array", "minItems": 1, "maxItems": 3000, "items": batch_message},
        },
    }
    batch_answer = {
        "type": "object",
        "properties": {"result": {"type": "array", "items": batch_result}},
    }
    sent = {"type": "object", "properties": {"mtNum": _STRING, "id": _STRING}}
    return {
        ("POST", "/api/v6/send"): {
            **_op("REST v6: send one SMS (Rapporto rest_sms)", _json(sms), _json(sent)),
            "x-error-body": _V6_ERROR,
        },
        ("GET", "/api/v6/messages/{mt_num}"): _op(
            "REST v6: status and history of one message (Basic auth)",
            None,
            _json({"type": "object"}),
        ),
        ("GET", "/api/http/v5/send"): {
            "summary": "HTTP API v5: send one SMS (Rapporto http_sms)",
            "parameters": v5_params,
            "responses": v5_answer,
        },
        ("POST", "/api/http/v5/send"): {
            "summary": "HTTP API v5: send one SMS as a form",
            "requestBody": form,
            "responses": v5_answer,
        },
        ("POST", "/api/batch/v3/messages"): _op(
            "REST_BATCH v3: 1-3000 SMS (Authorization: Key …)", _json(batch), _json(batch_answer)
        ),
        ("GET", "/healthz"): _op("Ready: core answers", None, {}),
        ("GET", "/livez"): _op("Alive", None, {}),
        ("GET", "/metrics"): _op("Prometheus metrics", None, {}),
        ("GET", "/openapi.json"): _op("This document", None, _json({"type": "object"})),
    }


def _report_ops(schemas: _Schemas) -> dict[tuple[str, str], dict[str, Any]]:
    """The admin API's reports (gateways/rest/admin_reports.py): JSON or an .xlsx download."""
    query = [
        {"name": n, "in": "query", "required": False, "schema": _STRING, "description": d}
        for n, d in (
            ("partner", "partner login"),
            ("number", "subscriber number"),
            ("sender", "sender name (MT) or the number written to (MO)"),
            ("status", "repeatable: ACCEPTED, SENT, DELIVERED, UNDELIVERED, EXPIRED, ..."),
            ("since", "RFC 3339, inclusive"),
            ("until", "RFC 3339, exclusive"),
            ("direction", "mt or mo; absent: both"),
            ("format", "json (default) or xlsx: the Excel workbook, streamed"),
        )
    ]
    xlsx: dict[str, Any] = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}
    ops: dict[tuple[str, str], dict[str, Any]] = {}
    for path, summary, extra, answer in (
        ("/reports/summary", "Traffic summary", ("groupBy",), report_service_pb2.SummarizeResponse),
        (
            "/reports/messages",
            "Message search, oldest first",
            ("pageSize", "pageToken"),
            report_service_pb2.SearchMessagesResponse,
        ),
    ):
        op = _op(summary, None, _json(schemas.ref(answer.DESCRIPTOR)))
        op["parameters"] = query + [
            {"name": n, "in": "query", "required": False, "schema": _STRING} for n in extra
        ]
        op["responses"]["200"]["content"].update(xlsx)
        ops[("GET", admin.PREFIX + path)] = op
    return ops


def build_spec() -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    ops = {**_partner_ops(), **_admin_ops(schemas), **_report_ops(schemas)}
    for (method, path), op in ops.items():
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "RCS REST gateway",
            "version": "1",
            "description": "Rapporto-compatible partner APIs and the admin API"
            " (HTTP Basic with an administrator; bodies in protobuf's JSON mapping).",
        },
        "paths": paths,
        "components": {"schemas": schemas.components},
    }


async def openapi(request: web.Request) -> web.StreamResponse:
    return web.json_response(request.app[SPEC])


SPEC = web.AppKey("openapi", dict)


def add_openapi_route(app: web.Application) -> None:
    app[SPEC] = build_spec()
    app.router.add_get("/openapi.json", openapi, name="openapi")
