"""`rcs route explain`: ask the routing service why a number routes the way it does."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys

import grpc
from google.protobuf import json_format

from rcs.common.v1 import channel_pb2
from rcs.routing.v1 import routing_service_pb2, routing_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel, refusal_text
from rcs_runtime.settings import RcsSettings
from rcs_runtime.timestamps import timestamp

CHANNELS = {
    "SMS": channel_pb2.CHANNEL_SMS,
    "PUSH": channel_pb2.CHANNEL_PUSH,
    "VIBER": channel_pb2.CHANNEL_VIBER,
    "WHATSAPP": channel_pb2.CHANNEL_WHATSAPP,
    "VK": channel_pb2.CHANNEL_VK,
    "FLASHCALL": channel_pb2.CHANNEL_FLASH_CALL,
}


class RouteCliSettings(RcsSettings):
    routing_target: str = "127.0.0.1:50052"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    route = sub.add_parser("route", help="routing tools")
    verbs = route.add_subparsers(dest="verb", required=True)
    explain = verbs.add_parser("explain", help="explain the route of one message")
    explain.add_argument("--to", required=True, help="subscriber number")
    explain.add_argument("--sender", default="")
    explain.add_argument("--partner", default="")
    explain.add_argument("--type", default="SMS", choices=sorted(CHANNELS))
    explain.add_argument(
        "--traffic-type",
        type=int,
        choices=(0, 1, 2, 5, 6, 7),
        help="traffic type; by default the sender name's registered type",
    )
    explain.add_argument(
        "--at",
        type=dt.datetime.fromisoformat,
        help="evaluate the allowed hours at this time (ISO 8601, default now)",
    )
    explain.add_argument("--json", action="store_true", help="print the decision as JSON")
    explain.set_defaults(func=run_explain)


async def _explain(
    args: argparse.Namespace, target: str
) -> routing_service_pb2.ExplainRouteResponse:
    channel = open_channel(target)
    try:
        stub = routing_service_pb2_grpc.RoutingServiceStub(channel)
        return await stub.ExplainRoute(
            routing_service_pb2.ExplainRouteRequest(
                query=routing_service_pb2.RouteQuery(
                    destination=args.to,
                    sender=args.sender,
                    partner=args.partner,
                    channel=CHANNELS[args.type],
                    traffic_type=args.traffic_type,
                    at=timestamp(args.at),
                )
            ),
            timeout=10,
        )
    finally:
        await channel.close()


def run_explain(args: argparse.Namespace) -> None:
    target = RouteCliSettings().routing_target
    try:
        answer = asyncio.run(_explain(args, target))
    except grpc.aio.AioRpcError as err:
        sys.exit(f"routing at {target} refused: {refusal_text(err)}")
    if args.json:
        print(json.dumps(json_format.MessageToDict(answer), ensure_ascii=False, indent=2))
        return
    route = answer.route
    for step in answer.steps:
        print(f"- {step}")
    for title, verdicts in (("rules", answer.rules), ("substitutions", answer.substitutions)):
        if verdicts:
            print(f"{title}:")
        for v in verdicts:
            kind = routing_service_pb2.RuleVerdictKind.Name(v.verdict).removeprefix(
                "RULE_VERDICT_KIND_"
            )
            print(f"  {kind:<12} {v.name} (priority {v.priority}): {v.reason}")
    if route.found:
        policy = routing_service_pb2.PolicyOutcome.Name(route.policy).removeprefix(
            "POLICY_OUTCOME_"
        )
        fallbacks = ", ".join(route.fallback_interface_ids) or "none"
        print(
            f"=> {route.interface_id} (failover {fallbacks}; operator {route.operator};"
            f" sender {route.sender!r}; traffic type {route.traffic_type}; {policy};"
            f" revision {route.revision})"
        )
    else:
        print(f"=> no route (error code {route.error_code}, revision {route.revision})")
        sys.exit(3)
