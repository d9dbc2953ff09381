"""`rcs cluster status | installations | promote ID | demote`: what the local cluster agent
(RCS_CLUSTER_TARGET) sees of its cluster, and the SRE's moves of the master role."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from rcs.cluster.v1 import cluster_service_pb2 as cs
from rcs.cluster.v1 import cluster_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel, refusal_text
from rcs_runtime.settings import RcsSettings

ROLE_NAMES = {cs.ROLE_MASTER: "master", cs.ROLE_STANDBY: "standby"}


class ClusterCliSettings(RcsSettings):
    cluster_target: str = "127.0.0.1:50055"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cluster = sub.add_parser("cluster", help="geo-redundant cluster: status and master moves")
    verbs = cluster.add_subparsers(dest="verb", required=True)
    for name, help_ in (
        ("status", "the cluster as this installation's agent sees it"),
        ("installations", "every live installation of the cluster"),
        ("demote", "make the master a standby; another installation takes over"),
    ):
        p = verbs.add_parser(name, help=help_)
        p.add_argument("--json", action="store_true", help="print the answer as JSON")
        p.set_defaults(func=_run)
    promote = verbs.add_parser("promote", help="move the master role to an installation")
    promote.add_argument("installation_id", type=int)
    promote.add_argument("--json", action="store_true", help="print the answer as JSON")
    promote.set_defaults(func=_run)


def _request(args: argparse.Namespace) -> tuple[str, Message]:
    if args.verb == "status":
        return "GetClusterStatus", cs.GetClusterStatusRequest()
    if args.verb == "installations":
        return "ListInstallations", cs.ListInstallationsRequest()
    if args.verb == "promote":
        return "PromoteInstallation", cs.PromoteInstallationRequest(
            installation_id=args.installation_id
        )
    return "DemoteMaster", cs.DemoteMasterRequest()


def _run(args: argparse.Namespace) -> None:
    settings = ClusterCliSettings()
    target = settings.cluster_target
    method, request = _request(args)

    async def call() -> Any:
        channel = open_channel(target, settings.mutual_tls())
        try:
            stub = cluster_service_pb2_grpc.ClusterServiceStub(channel)
            return await getattr(stub, method)(request, timeout=10)
        finally:
            await channel.close()

    try:
        answer = asyncio.run(call())
    except grpc.aio.AioRpcError as err:
        sys.exit(f"cluster agent at {target} refused: {refusal_text(err)}")
    if args.json:
        doc = json_format.MessageToDict(answer, always_print_fields_with_no_presence=True)
        print(json.dumps(doc, indent=2))
    else:
        print(render(answer))


def _table(installations: Any) -> list[str]:
    rows = [("ID", "ROLE", "REVISION", "CORE", "AGENT")]
    rows += [
        (
            str(i.installation_id),
            ROLE_NAMES.get(i.role, "?"),
            str(i.settings_revision),
            i.core_endpoint,
            i.agent_endpoint,
        )
        for i in installations
    ]
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def render(answer: Message) -> str:
    """The readable form of an answer (a table for installations)."""
    if isinstance(answer, cs.GetClusterStatusResponse):
        if not answer.etcd_configured:
            return (
                f"cluster {answer.cluster!r}: installation {answer.installation_id} runs alone"
                " (no etcd configured) and is its own master"
            )
        master = answer.master_installation_id or "none elected"
        lines = [
            f"cluster       {answer.cluster}",
            f"this          installation {answer.installation_id},"
            f" {ROLE_NAMES.get(answer.role, '?')}",
            f"master        {master} (term {answer.master_term})",
            f"settings      revision {answer.settings_revision} applied,"
            f" {answer.published_settings_revision} published",
            f"lease         {answer.lease_remaining_seconds:.1f} s left",
            "",
            *_table(answer.installations),
        ]
        return "\n".join(lines)
    if isinstance(answer, cs.ListInstallationsResponse):
        return "\n".join(_table(answer.installations))
    if isinstance(answer, cs.PromoteInstallationResponse):
        return (
            f"asked installation {answer.previous_master_installation_id} to hand the master"
            " role over; see `rcs cluster status`"
        )
    if isinstance(answer, cs.DemoteMasterResponse):
        return (
            f"asked installation {answer.previous_master_installation_id} to step down;"
            " see `rcs cluster status`"
        )
    return str(answer)
