"""`rcs report summary|search`: installation reports from core's ReportService over gRPC
(RCS_CORE_TARGET), read from the replica when core has a usable one.

Both print a table (or ``--json``); ``--xlsx FILE`` writes the Excel export instead,
showing the rows written on stderr while core builds it. Filters: ``--partner``,
``--number``, ``--sender``, ``--status`` (repeatable), ``--since``/``--until`` (ISO 8601,
UTC unless an offset is given), ``--direction mt|mo``."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from rcs.common.v1 import channel_pb2, status_pb2
from rcs.core.v1 import report_service_pb2 as rs
from rcs.core.v1 import report_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel, refusal_text
from rcs_runtime.settings import RcsSettings

DIMENSIONS = ("partner", "operator", "direction", "channel", "status", "day")


class ReportCliSettings(RcsSettings):
    core_target: str = "127.0.0.1:50051"


def _time(text: str) -> Timestamp:
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from exc
    ts = Timestamp()
    ts.FromDatetime(at if at.tzinfo else at.replace(tzinfo=dt.UTC))
    return ts


def _status(text: str) -> int:
    try:
        return int(status_pb2.MessageStatus.Value(f"MESSAGE_STATUS_{text.upper()}"))
    except ValueError as exc:
        names = ", ".join(
            n.removeprefix("MESSAGE_STATUS_").lower() for n in status_pb2.MessageStatus.keys()[1:]
        )
        raise argparse.ArgumentTypeError(f"status {text!r}: use one of {names}") from exc


def _group_by(text: str) -> list[rs.SummaryDimension.ValueType]:
    out: list[rs.SummaryDimension.ValueType] = []
    for name in filter(None, (p.strip() for p in text.split(","))):
        if name not in DIMENSIONS:
            raise argparse.ArgumentTypeError(f"{name!r}: group by {', '.join(DIMENSIONS)}")
        out.append(rs.SummaryDimension.Value(f"SUMMARY_DIMENSION_{name.upper()}"))
    return out


def _filter(a: argparse.Namespace) -> rs.ReportFilter:
    f = rs.ReportFilter(
        partner=a.partner,
        number=a.number,
        sender=a.sender,
        statuses=a.status,
        direction=rs.MessageDirection.Value(
            f"MESSAGE_DIRECTION_{(a.direction or 'unspecified').upper()}"
        ),
    )
    if a.since:
        f.since.CopyFrom(a.since)
    if a.until:
        f.until.CopyFrom(a.until)
    return f


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(map(str, headers)), *([str(c) for c in r] for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def _name(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix) if value else ""


async def _save(stream: AsyncIterator[Any], path: str) -> int:
    rows = 0
    with open(path, "wb") as out:  # noqa: ASYNC230 - a local file, written as chunks come
        async for chunk in stream:
            if chunk.WhichOneof("chunk") == "rows_done":
                rows = chunk.rows_done
                print(f"\rrows written: {rows}", end="", file=sys.stderr, flush=True)
            else:
                out.write(chunk.data)
    print(file=sys.stderr)
    return rows


def _keys(r: rs.SummaryRow) -> dict[str, str]:
    return {
        "partner": r.partner,
        "operator": r.operator,
        "direction": _name(rs.MessageDirection, r.direction, "MESSAGE_DIRECTION_"),
        "channel": _name(channel_pb2.Channel, r.channel, "CHANNEL_"),
        "status": _name(status_pb2.MessageStatus, r.status, "MESSAGE_STATUS_"),
        "day": r.day,
    }


def _source(from_replica: bool) -> None:
    print(f"(read from the {'replica' if from_replica else 'master'})", file=sys.stderr)


async def _summary(stub: Any, a: argparse.Namespace) -> None:
    request = rs.SummarizeRequest(filter=_filter(a), group_by=a.group_by)
    if a.xlsx:
        done = await _save(stub.ExportSummary(rs.ExportSummaryRequest(summary=request)), a.xlsx)
        print(f"{a.xlsx}: {done} rows")
        return
    answer = await stub.Summarize(request)
    if a.json:
        print(json.dumps(json_format.MessageToDict(answer), ensure_ascii=False, indent=2))
        return
    names = [DIMENSIONS[d - 1] for d in a.group_by]
    rows: list[list[Any]] = []
    for r in answer.rows:
        keys = _keys(r)
        rows.append([*(keys[n] for n in names), r.messages, r.parts])
    total = ["total", *[""] * (len(names) - 1)] if names else []
    rows.append([*total, answer.total_messages, answer.total_parts])
    print(_table([*names, "messages", "parts"], rows))
    _source(answer.from_replica)


async def _search(stub: Any, a: argparse.Namespace) -> None:
    if a.xlsx:
        done = await _save(stub.ExportSearch(rs.ExportSearchRequest(filter=_filter(a))), a.xlsx)
        print(f"{a.xlsx}: {done} rows")
        return
    answer = await stub.SearchMessages(
        rs.SearchMessagesRequest(filter=_filter(a), page_size=a.page_size, page_token=a.page_token)
    )
    if a.json:
        print(json.dumps(json_format.MessageToDict(answer), ensure_ascii=False, indent=2))
        return
    headers = ("time", "id", "dir", "partner", "operator", "number", "sender", "status", "parts")
    rows = [
        [
            m.at.ToDatetime(tzinfo=dt.UTC).isoformat(timespec="seconds"),
            m.message_id,
            _name(rs.MessageDirection, m.direction, "MESSAGE_DIRECTION_"),
            m.partner,
            m.operator,
            m.number,
            m.sender,
            _name(status_pb2.MessageStatus, m.status, "MESSAGE_STATUS_"),
            m.parts,
        ]
        for m in answer.messages
    ]
    print(_table(headers, rows))
    if answer.next_page_token:
        print(f"next page: --page-token {answer.next_page_token}", file=sys.stderr)
    _source(answer.from_replica)


def _main(a: argparse.Namespace) -> None:
    settings = ReportCliSettings()

    async def run() -> None:
        channel = open_channel(settings.core_target)
        try:
            stub = report_service_pb2_grpc.ReportServiceStub(channel)
            await (_summary if a.report == "summary" else _search)(stub, a)
        finally:
            await channel.close()

    try:
        asyncio.run(run())
    except grpc.aio.AioRpcError as err:
        sys.exit(f"core at {settings.core_target} refused: {refusal_text(err)}")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--partner", default="", help="partner login")
    p.add_argument("--number", default="", help="subscriber number")
    p.add_argument("--sender", default="", help="sender name (MT) or number written to (MO)")
    p.add_argument("--status", type=_status, action="append", default=[], help="e.g. delivered")
    p.add_argument("--since", type=_time, help="ISO 8601, inclusive (UTC without an offset)")
    p.add_argument("--until", type=_time, help="ISO 8601, exclusive")
    p.add_argument("--direction", choices=("", "mt", "mo"), default="")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="the answer in protobuf's JSON")
    out.add_argument("--xlsx", metavar="FILE", help="write the Excel export to FILE")


def add_parser(sub: Any) -> None:
    report = sub.add_parser("report", help="traffic summary and message search (core over gRPC)")
    kinds = report.add_subparsers(dest="report", required=True)
    summary = kinds.add_parser("summary", help="messages and parts per group")
    summary.add_argument(
        "--group-by", type=_group_by, default=[], help=f"comma-separated: {','.join(DIMENSIONS)}"
    )
    _common(summary)
    search = kinds.add_parser("search", help="messages oldest first, a page at a time")
    search.add_argument("--page-size", type=int, default=100)
    search.add_argument("--page-token", default="")
    _common(search)
    report.set_defaults(func=_main)
