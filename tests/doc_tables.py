"""The field tables of Rapporto's documents for what partners receive from us — answers and
callbacks — transcribed here (the documents are not part of the repository), each with the
file and table it comes from, and one check: no documented field missing, none extra,
none of another type."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Check = Callable[[Any], bool]


def _str(value: Any) -> bool:
    return isinstance(value, str)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _digits(value: Any) -> bool:  # an integer or long sent as a query parameter
    return isinstance(value, str) and value.isdigit()


def _date(value: Any) -> bool:  # rest_status.rst's example: 2019-05-05T10:20:35+0300
    return (
        isinstance(value, str)
        and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", value) is not None
    )


def _str_or_null(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _list(value: Any) -> bool:
    return isinstance(value, list)


def _object(value: Any) -> bool:
    return isinstance(value, dict)


STRING, INTEGER, DIGITS, DATE, STRING_OR_NULL, ARRAY, OBJECT = (
    _str,
    _int,
    _digits,
    _date,
    _str_or_null,
    _list,
    _object,
)


@dataclass(frozen=True)
class Field:
    check: Check
    required: bool = True


Table = Mapping[str, Field]


def mismatches(doc: Mapping[str, Any], table: Table) -> dict[str, list[str]]:
    """Missing required, extra and mistyped fields of ``doc`` against ``table``."""
    return {
        "missing": [name for name, f in table.items() if f.required and name not in doc],
        "extra": [name for name in doc if name not in table],
        "mistyped": [
            f"{name}={value!r}"
            for name, value in doc.items()
            if name in table and not table[name].check(value)
        ],
    }


def assert_matches(doc: Mapping[str, Any], table: Table, where: str) -> None:
    found = mismatches(doc, table)
    assert not any(found.values()), f"{where} is off its table: {found} in {dict(doc)}"


# rest/rest_status.rst "Параметры отчета о доставке". id only when the partner gave one;
# mccMnc "передаётся опционально"; doneDate empty when not delivered.
REST_V6_STATUS: Table = {
    "id": Field(STRING, required=False),
    "mtNum": Field(DIGITS),
    "status": Field(INTEGER),
    "type": Field(STRING),
    "doneDate": Field(lambda v: v == "" or _date(v)),
    "submitDate": Field(DATE),
    "destAddr": Field(STRING),
    "sourceAddr": Field(STRING),
    "text": Field(STRING),
    "partCount": Field(DIGITS),
    "errorCode": Field(DIGITS),
    "mccMnc": Field(STRING, required=False),
    "trafficType": Field(INTEGER),
}
# http/http_status.rst: the GET's query parameters; bold ones are required. unifiedExtStatus
# comes with status 5 only.
HTTP_V5_STATUS: Table = {
    "msgType": Field(STRING),
    "transactionId": Field(DIGITS),
    "ptag": Field(STRING, required=False),
    "status": Field(DIGITS),
    "partnerMsgId": Field(STRING, required=False),
    "unifiedExtStatus": Field(DIGITS, required=False),
}
# rest_batch/rest_batch_status.rst "Описание параметров": errorCode for REJECTED and
# UNDELIVERABLE only, id when the partner gave one.
BATCH_V3_STATUS: Table = {
    "messageId": Field(DIGITS),
    "ts": Field(INTEGER),
    "status": Field(STRING),
    "errorCode": Field(INTEGER, required=False),
    "id": Field(STRING, required=False),
}
BATCH_V3_STATUSES = {"SENT", "DELIVERED", "UNDELIVERABLE", "REJECTED", "EXPIRED"}
# rest/rest_mo.rst, the SMS table: message absent when the MO has no text.
REST_V6_MO: Table = {
    "transactionId": Field(STRING),
    "destAddr": Field(STRING),
    "sourceAddr": Field(STRING),
    "type": Field(STRING),
    "message": Field(STRING, required=False),
    "partCount": Field(INTEGER),
    "receivedDate": Field(DATE),
}
# http/http_mo.rst: the GET's query parameters (hash and timestamp only with a signature).
HTTP_V5_MO: Table = {
    "clientId": Field(STRING),
    "message": Field(STRING),
    "connectorId": Field(DIGITS),
    "serviceId": Field(STRING),
    "receivedDate": Field(STRING),
    "shortNumber": Field(STRING),
    "mtSent": Field(DIGITS),
    "messageId": Field(STRING),
    "clientPhone": Field(STRING),
    "sum_sms": Field(DIGITS),
    "hash": Field(STRING, required=False),
    "timestamp": Field(DIGITS, required=False),
}
# rest/rest_sms.rst "Ответ при успешной отправке SMS".
REST_V6_SENT: Table = {"mtNum": Field(DIGITS), "id": Field(STRING, required=False)}
# rest/rest_sms.rst "Ошибки при отправке SMS" and its error code table.
REST_V6_ERROR: Table = {
    "error": Field(OBJECT),
    "extendedDescription": Field(STRING, required=False),
}
REST_V6_ERROR_OBJECT: Table = {"code": Field(INTEGER), "description": Field(STRING)}
REST_V6_ERROR_CODES = {
    1: "Service is unavailable",
    2: "Invalid IP-address",
    3: "Too many connections",
    4: "Invalid request",
    5: "Invalid login",
    6: "Invalid password",
    7: "serviceNumber is not defined",
    8: "destAddr is not correct",
    9: "Message type is not correct",
    10: "Prohibited sending duplicates",
    11: "Invalid TTL",
    100: "100",
}
# rest_batch/rest_batch_sms.rst "Параметры ответа" (packetId only for partners who asked
# support for it) and the reason keys of "Коды ошибок отправки SMS".
BATCH_V3_ANSWER: Table = {"result": Field(ARRAY)}
BATCH_V3_RESULT: Table = {
    "code": Field(lambda v: v in ("OK", "REJECTED")),
    "messageId": Field(STRING_OR_NULL),
    "description": Field(STRING, required=False),
    "id": Field(STRING, required=False),
    "packetId": Field(INTEGER, required=False),
    "reasons": Field(ARRAY, required=False),
}
BATCH_V3_REASON: Table = {"key": Field(STRING), "ref": Field(STRING, required=False)}
BATCH_V3_REASON_KEYS = {
    "forbidden",
    "unknown",
    "invalid",
    "length.too.long",
    "must.be.not.null",
    "not.available",
    "too.many.messages",
}
