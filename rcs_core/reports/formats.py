"""Reports on the wire: the HTTP request each partner API's format makes of an outbox report.

Pure (no I/O). A report body is format-neutral (reports/store.py, inbound/store.py);
this module gives it the shape Rapporto documents for the API the message came in by:

- HTTP_V5 status (http/http_status.rst): GET on the URL with msgType, transactionId, ptag,
  status (Rapporto's 0/2/5/9), partnerMsgId and, for status 5, unifiedExtStatus.
- REST_V6 status (rest/rest_status.rst): JSON POST with id, mtNum, status, type, doneDate
  (empty unless delivered), submitDate, sourceAddr, destAddr, text, partCount ("001"),
  errorCode (a string) and trafficType. mccMnc is optional and not sent (not known here).
- BATCH_V3 status (rest_batch/rest_batch_status.rst): JSON POST with messageId, ts (the
  event's time in milliseconds), status by name (UNDELIVERED is UNDELIVERABLE there, READ
  has no name and is sent as DELIVERED), errorCode 0 for REJECTED and UNDELIVERABLE (the
  document says exactly that value) and the partner's id if it gave one.
- MO over HTTP_V5 (http/http_mo.rst): GET with clientId, message, connectorId, serviceId,
  receivedDate ("YYYY-MM-DD HH:MM:SS"), shortNumber, mtSent, messageId, clientPhone,
  sum_sms. RCS has no operator codes nor a deferred-MO queue, so connectorId and mtSent
  are 0; serviceId is the partner's login (as in http_sms.rst); clientPhone is unmasked;
  the optional hash/timestamp/token signatures are not sent.
- MO over REST_V6 (rest/rest_mo.rst): JSON POST with transactionId, destAddr, sourceAddr,
  type, message, partCount (a number here) and receivedDate; a messenger reply adds
  mediaURL (rest_mo.rst) and, when the provider named the message it answers, that
  message's mtNum and id (the partner's) as rest_status.rst names them. Over HTTP_V5 the
  same as msgType, mediaURL, transactionId and partnerMsgId (http_status.rst's names).

Dates with an offset ("2019-05-05T10:20:35+0300") are written in the installation's
report time zone (RCS_REPORT_TIME_ZONE, UTC by default): the documents show Moscow time,
which is Rapporto's own zone, not part of the format.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from rcs_core.messages.statuses import Status
from rcs_core.reports.store import KIND_INBOUND, KIND_STATUS, LeasedReport

FORMAT_HTTP_V5 = 2
FORMAT_REST_V6 = 3
FORMAT_BATCH_V3 = 4
HTTP_FORMATS = (FORMAT_HTTP_V5, FORMAT_REST_V6, FORMAT_BATCH_V3)
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
OFFSET_DATE = "%Y-%m-%dT%H:%M:%S%z"
MO_V5_DATE = "%Y-%m-%d %H:%M:%S"
# rcs.common.v1.Channel → the type names of msgType (v5) and type (v6).
_TYPES = {1: "SMS", 2: "PUSH", 3: "VIBER", 4: "WHATSAPP", 5: "VK", 6: "FLASHINGCALL"}
_TYPES_V6 = {**_TYPES, 8: "TELEGRAM"}
_BATCH_STATUS = {
    Status.ACCEPTED: "ACCEPTED",
    Status.SENT: "SENT",
    Status.DELIVERED: "DELIVERED",
    Status.UNDELIVERED: "UNDELIVERABLE",
    Status.EXPIRED: "EXPIRED",
    Status.REJECTED: "REJECTED",
    Status.READ: "DELIVERED",
}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One HTTP request: GET when there is no body, else a UTF-8 JSON POST."""

    url: str  # query already percent-encoded
    body: bytes = b""

    @property
    def method(self) -> str:
        return "POST" if self.body else "GET"


def request_of(report: LeasedReport, zone: dt.tzinfo, login: str = "") -> Outgoing:
    """The request for ``report``; ValueError for a format/kind pair that has none.

    ``login`` is the partner's, needed only by MO over HTTP v5 (its serviceId).
    """
    key = (report.format, report.kind)
    if key == (FORMAT_HTTP_V5, KIND_STATUS):
        return Outgoing(with_query(report.url, http_v5_status(report)))
    if key == (FORMAT_REST_V6, KIND_STATUS):
        return Outgoing(report.url, _json(rest_v6_status(report, zone)))
    if key == (FORMAT_BATCH_V3, KIND_STATUS):
        return Outgoing(report.url, _json(batch_v3_status(report)))
    if key == (FORMAT_HTTP_V5, KIND_INBOUND):
        return Outgoing(with_query(report.url, http_v5_inbound(report, zone, login)))
    if key == (FORMAT_REST_V6, KIND_INBOUND):
        return Outgoing(report.url, _json(rest_v6_inbound(report, zone)))
    raise ValueError(f"format {report.format} has no HTTP form for kind {report.kind}")


def with_query(url: str, params: Sequence[tuple[str, str]]) -> str:
    """``url`` with ``params`` appended to any query it has (a fragment is not sent)."""
    base = url.partition("#")[0]
    query = urlencode(params, quote_via=quote, safe=":")  # ':' as in http_mo.rst's example
    if "?" not in base:
        return f"{base}?{query}"
    if base.endswith(("?", "&")):
        return base + query
    return f"{base}&{query}"


def http_v5_status(report: LeasedReport) -> list[tuple[str, str]]:
    b = report.body
    code = _status(b).rapporto_code
    params = [("msgType", _TYPES.get(int(b.get("channel") or 1), "SMS"))]
    params.append(("transactionId", str(report.message_id)))
    if b.get("ptag"):
        params.append(("ptag", str(b["ptag"])))
    params.append(("status", str(code)))
    if b.get("client_ref"):
        params.append(("partnerMsgId", str(b["client_ref"])))
    if code == 5:
        params.append(("unifiedExtStatus", str(int(b.get("error_code") or 0))))
    return params


def rest_v6_status(report: LeasedReport, zone: dt.tzinfo) -> dict[str, Any]:
    b = report.body
    status = _status(b)
    delivered = status in (Status.DELIVERED, Status.READ)
    doc: dict[str, Any] = {"id": b["client_ref"]} if b.get("client_ref") else {}
    doc |= {
        "mtNum": str(report.message_id),
        "status": status.rapporto_code,
        "type": _TYPES_V6.get(int(b.get("channel") or 1), "SMS"),
        "doneDate": _offset_date(b.get("done_time"), zone) if delivered else "",
        "submitDate": _offset_date(b.get("submit_time"), zone),
        "sourceAddr": b.get("sender") or "",
        "destAddr": b.get("destination") or "",
        "text": b.get("text") or "",
        "partCount": f"{int(b.get('part_count') or 1):03d}",
        "errorCode": str(int(b.get("error_code") or 0)),
    }
    if b.get("traffic_type") is not None:
        doc["trafficType"] = int(b["traffic_type"])
    return doc


def batch_v3_status(report: LeasedReport) -> dict[str, Any]:
    b = report.body
    name = _BATCH_STATUS[_status(b)]
    moment = _time(b.get("done_time")) or _time(b.get("submit_time"))
    doc: dict[str, Any] = {
        "messageId": str(report.message_id),
        "ts": int(moment.timestamp() * 1000) if moment else 0,
        "status": name,
    }
    if name in ("REJECTED", "UNDELIVERABLE"):
        doc["errorCode"] = 0
    if b.get("client_ref"):
        doc["id"] = b["client_ref"]
    return doc


def http_v5_inbound(report: LeasedReport, zone: dt.tzinfo, login: str) -> list[tuple[str, str]]:
    b = report.body
    received = _time(b.get("submit_time"))
    return [
        ("clientId", b.get("sender") or ""),
        ("message", b.get("text") or ""),
        ("connectorId", "0"),
        ("serviceId", login),
        ("receivedDate", received.astimezone(zone).strftime(MO_V5_DATE) if received else ""),
        ("shortNumber", b.get("destination") or ""),
        ("mtSent", "0"),
        ("messageId", str(report.message_id)),
        ("clientPhone", b.get("sender") or ""),
        ("sum_sms", str(int(b.get("part_count") or 1))),
        *_v5_messenger(b),
    ]


def _v5_messenger(b: dict[str, Any]) -> list[tuple[str, str]]:
    """A messenger reply's extras in HTTP v5's own names (http_status.rst): msgType, the
    media link as rest_mo.rst names it, and the answered message as transactionId (its
    mtNum) and partnerMsgId (the partner's id); an SMS MO has none of them."""
    channel = int(b.get("channel") or 1)
    out = [] if channel == 1 else [("msgType", _TYPES_V6.get(channel, "SMS"))]
    if b.get("media_url"):
        out.append(("mediaURL", b["media_url"]))
    if b.get("reply_to"):
        out.append(("transactionId", b["reply_to"]))
        if b.get("reply_to_ref"):
            out.append(("partnerMsgId", b["reply_to_ref"]))
    return out


def rest_v6_inbound(report: LeasedReport, zone: dt.tzinfo) -> dict[str, Any]:
    b = report.body
    doc: dict[str, Any] = {
        "transactionId": str(report.message_id),
        "destAddr": b.get("destination") or "",
        "sourceAddr": b.get("sender") or "",
        "type": _TYPES_V6.get(int(b.get("channel") or 1), "SMS"),
    }
    if b.get("text"):  # rest_mo.rst: no text, no "message"
        doc["message"] = b["text"]
    doc["partCount"] = int(b.get("part_count") or 1)
    doc["receivedDate"] = _offset_date(b.get("submit_time"), zone)
    if b.get("media_url"):
        doc["mediaURL"] = b["media_url"]
    if b.get("reply_to"):  # the answered message, named as rest_status.rst names it
        doc["mtNum"] = b["reply_to"]
        if b.get("reply_to_ref"):
            doc["id"] = b["reply_to_ref"]
    return doc


def inbound_replies(body: bytes, charset: str | None) -> list[str]:
    """The messages a partner's 200 answer to an HTTP v5 MO asks us to send back to the
    subscriber (http_mo.rst "Ответ на запрос"): text/plain in UTF-8 or cp1251, one message
    per line ending in CR LF, a lone CR a line break inside a message."""
    name = (charset or "utf-8").strip().lower()
    if name in ("cp1251", "windows-1251"):
        text = body.decode("cp1251", errors="replace")
    else:
        text = body.decode("utf-8", errors="replace")
    lines = text.split("\r\n")
    return [line.replace("\r", "\n") for line in lines if line.strip()]


def is_v5_inbound(report: LeasedReport) -> bool:
    return (report.format, report.kind) == (FORMAT_HTTP_V5, KIND_INBOUND)


def needs_login(report: LeasedReport) -> bool:
    return (report.format, report.kind) == (FORMAT_HTTP_V5, KIND_INBOUND)


def _status(body: dict[str, Any]) -> Status:
    return Status(int(body["status"]))


def _time(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _offset_date(value: Any, zone: dt.tzinfo) -> str:
    moment = _time(value)
    return moment.astimezone(zone).strftime(OFFSET_DATE) if moment else ""


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
