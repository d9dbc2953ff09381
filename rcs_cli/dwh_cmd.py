"""`rcs dwh report …`: the DWH's reports per cluster (DwhReportService at RCS_DWH_TARGET),
as JSON or as an Excel file."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys

import grpc
from google.protobuf import json_format

from rcs.dwh.v1 import dwh_report_service_pb2 as pb
from rcs.dwh.v1 import dwh_report_service_pb2_grpc as pb_grpc
from rcs_runtime.grpc_client import open_channel, refusal_text
from rcs_runtime.settings import RcsSettings
from rcs_runtime.timestamps import timestamp

KINDS = {
    "summary": pb.REPORT_KIND_SUMMARY,
    "chronological": pb.REPORT_KIND_CHRONOLOGICAL,
    "financial": pb.REPORT_KIND_FINANCIAL,
}
GRANULARITY = {"hour": pb.GRANULARITY_HOUR, "day": pb.GRANULARITY_DAY}


class DwhCliSettings(RcsSettings):
    dwh_target: str = "127.0.0.1:50060"


def _when(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dwh = sub.add_parser("dwh", help="the data warehouse's reports (RCS_DWH_TARGET)")
    verbs = dwh.add_subparsers(dest="verb", required=True)
    report = verbs.add_parser("report", help="a report per cluster, as JSON or .xlsx")
    report.add_argument("kind", choices=sorted(KINDS))
    report.add_argument("--cluster", required=True)
    report.add_argument("--from", dest="start", type=_when, required=True, help="ISO 8601")
    report.add_argument("--to", dest="end", type=_when, required=True, help="ISO 8601, excluded")
    report.add_argument("--partner", default="", help="one partner login only")
    report.add_argument("--granularity", choices=sorted(GRANULARITY), default="day")
    report.add_argument("--xlsx", metavar="FILE", help="write an Excel file instead of JSON")
    report.set_defaults(func=run_report)


async def _report(args: argparse.Namespace, target: str) -> None:
    query = pb.ReportQuery(
        cluster=args.cluster,
        start_time=timestamp(args.start),
        end_time=timestamp(args.end),
        partner=args.partner,
    )
    channel = open_channel(target)
    try:
        stub = pb_grpc.DwhReportServiceStub(channel)
        if args.xlsx:
            request = pb.ExportReportRequest(
                kind=KINDS[args.kind], query=query, granularity=GRANULARITY[args.granularity]
            )
            with open(args.xlsx, "wb") as out:  # noqa: ASYNC230 (a local file, chunk by chunk)
                async for part in stub.ExportReport(request, timeout=600):
                    out.write(part.chunk)
            return
        answer: object
        if args.kind == "summary":
            answer = await stub.GetSummaryReport(
                pb.GetSummaryReportRequest(query=query), timeout=120
            )
        elif args.kind == "chronological":
            answer = await stub.GetChronologicalReport(
                pb.GetChronologicalReportRequest(
                    query=query, granularity=GRANULARITY[args.granularity]
                ),
                timeout=120,
            )
        else:
            answer = await stub.GetFinancialReport(
                pb.GetFinancialReportRequest(query=query), timeout=120
            )
        print(json.dumps(json_format.MessageToDict(answer), ensure_ascii=False, indent=2))
    finally:
        await channel.close()


def run_report(args: argparse.Namespace) -> None:
    target = DwhCliSettings().dwh_target
    try:
        asyncio.run(_report(args, target))
    except grpc.aio.AioRpcError as err:
        sys.exit(f"the DWH at {target} refused: {refusal_text(err)}")
