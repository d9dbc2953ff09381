"""The OpenAPI document describes every route the gateway serves, and nothing it does not."""

from __future__ import annotations

import json
from typing import Any

import grpc

from gateways.rest.app import build_app
from gateways.rest.openapi import build_spec
from gateways.rest.settings import RestSettings


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_every_route_is_described_and_every_ref_resolves() -> None:
    channel = grpc.aio.insecure_channel("127.0.0.1:9")  # never called
    try:
        app = build_app(RestSettings(), channel, channel)
        served = {
            (route.method, route.resource.canonical)
            for route in app.router.routes()
            if route.method != "HEAD" and route.resource is not None
        }
    finally:
        await channel.close()
    spec = build_spec()
    described = {(m.upper(), path) for path, ops in spec["paths"].items() for m in ops}
    assert served == described
    schemas = spec["components"]["schemas"]
    for ref in _refs(spec):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    json.dumps(spec)  # serialisable as served


def test_admin_schemas_come_from_the_protobuf_json_mapping() -> None:
    schemas = build_spec()["components"]["schemas"]
    rule = schemas["rcs.core.v1.RoutingRule"]["properties"]
    assert rule["targets"]["type"] == "array"
    assert rule["channel"]["enum"][0] == "CHANNEL_UNSPECIFIED"
    assert "trafficType" in rule  # json names, as the admin API reads and writes them
    revision = schemas["rcs.core.v1.Revision"]["properties"]
    assert revision["revision"] == {"type": "string", "format": "int64"}
    assert revision["createTime"] == {"type": "string", "format": "date-time"}
    route = schemas["rcs.core.v1.InboundRoute"]["properties"]
    assert "REPORT_FORMAT_SMPP" in route["format"]["enum"]
    partner = schemas["rcs.core.v1.Partner"]["properties"]
    assert partner["maxSmppSessions"] == {"type": "integer", "format": "int32"}


def test_http_v5_answers_are_its_documented_codes() -> None:
    answers = build_spec()["paths"]["/api/http/v5/send"]["get"]["responses"]
    assert sorted(answers) == [
        "200",
        "400",
        "401",
        "402",
        "403",
        "406",
        "408",
        "409",
        "414",
        "500",
        "503",
    ]
    assert answers["503"]["description"].startswith("Request is being processed")
