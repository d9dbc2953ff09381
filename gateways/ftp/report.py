"""The files RCS writes back (ftp_trans_report.rst, ftp_delivery_report.rst), byte for byte:
windows-1251, CRLF line ends (the encoding is Windows's; so are its line ends). Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from gateways.ftp.files import Kind
from rcs_runtime.errors import Reason

ENCODING = "cp1251"
EOL = "\r\n"

OPERATIONS = {
    Kind.S: "Загрузка рассылки",
    Kind.SID: "Загрузка рассылки с идентификаторами",
    Kind.B: "Пополнение черного списка",
    None: "Неизвестная операция",
}
# Why a line was not loaded on Success: the three reasons ftp_trans_report.rst names, and
# a repeated id in a SID file (the docs are silent; each id keys one message).
LINE_REASONS = {
    Reason.INVALID_DESTINATION: "неверный номер",
    "BLACKLISTED": "номер в черном списке",
    "DUPLICATE_DESTINATION": "дубликат номера в файле",
    "DUPLICATE_ID": "дубликат идентификатора в файле",
}
# Delivery statuses (ftp_delivery_report.rst) by rcs.common.v1.MessageStatus: 0 sending
# failed, 1 not delivered, 2 sent with no final status yet, 3 delivered.
_DELIVERY = {0: 0, 1: 2, 2: 2, 3: 3, 4: 1, 5: 1, 6: 0, 7: 3}


def encode(text: str) -> bytes:
    """windows-1251; a character it lacks (an emoji in a name) becomes "?"."""
    return text.encode(ENCODING, errors="replace")


def render(kind: Kind | None, at: dt.datetime, ok: bool, details: Iterable[str]) -> bytes:
    """A .report: operation, date/time, Success/Fail, an empty line, then the description
    lines (on Fail the reason; on Success the lines not loaded, if any)."""
    head = [OPERATIONS[kind], at.strftime("%Y-%m-%d %H:%M:%S"), "Success" if ok else "Fail", ""]
    return encode("".join(line + EOL for line in [*head, *details]))


def refused_line(number: str, reason: str) -> str:
    """One line not loaded: the number as the file gave it and why."""
    return f"{number};{LINE_REASONS.get(reason, reason)}"


def delivery_status(status: int) -> int:
    return _DELIVERY.get(status, 0)


def delivery_line(number: str, status: int, external_id: str = "") -> str:
    value = delivery_status(status)
    return f"{external_id};{number};{value}" if external_id else f"{number};{value}"
