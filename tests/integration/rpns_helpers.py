"""Helpers of the rpns tests: an application, installs through the SDK endpoint, a push
through ConnectorService as core's dispatcher sends it, and waiting for its deliveries."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any

import psycopg
from google.protobuf import timestamp_pb2

from rcs.common.v1 import channel_pb2, message_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.rpns.v1 import app_service_pb2
from tests.rpns_rig import PushRig, app_with_every_provider

_ids = itertools.count(1_000_000)


async def make_app(rig: PushRig, service_number: str, *, min_version: str = "") -> str:
    app = app_with_every_provider("acme", service_number)
    app.min_version = min_version
    put = await rig.rpns.apps.PutApp(app_service_pb2.PutAppRequest(app=app))
    return str(put.app.api_key)


async def register(rig: PushRig, api_key: str, **fields: Any) -> str:
    response = await rig.rpns.sdk.post(
        "/api/sdk/v1/installations", json=fields, headers={"X-Api-Key": api_key}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["installationId"])


def outbound(service_number: str, destination: str = "", **push: Any) -> cs.OutboundMessage:
    valid_until = timestamp_pb2.Timestamp()
    valid_until.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    content = message_pb2.PushContent(service_number=service_number, **push)
    if not content.title and not content.text:
        content.text = "Hello"
    return cs.OutboundMessage(
        message_id=str(next(_ids)),
        interface_id="rpns",
        destination=destination,
        channel=channel_pb2.CHANNEL_PUSH,
        partner="acme",
        push=content,
        valid_until=valid_until,
        receipt_wanted=True,
    )


async def send(rig: PushRig, *messages: cs.OutboundMessage) -> list[cs.SendResult]:
    response = await rig.rpns.connector.SendMessages(
        cs.SendMessagesRequest(messages=messages), timeout=10
    )
    return list(response.results)


async def deliveries(dsn: str, push_id: str) -> list[tuple[str, int, int, str, int, bool]]:
    """(token, state, error_code, detail, attempts, install active) per delivery."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(
            "SELECT i.token, d.state, d.error_code, d.detail, d.attempts, i.active"
            " FROM rpns_deliveries d JOIN rpns_installs i ON i.id = d.install_id"
            " WHERE d.push_id = %s ORDER BY i.token",
            (int(push_id),),
        )
        return list(await cur.fetchall())


async def settled(
    dsn: str, push_id: str, within: float = 30.0
) -> list[tuple[str, int, int, str, int, bool]]:
    """The deliveries once none is queued or only sent (confirmed or failed for good)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = await deliveries(dsn, push_id)
        if found and all(state >= 2 for _, state, *_ in found):
            return found
        if loop.time() > deadline:
            raise AssertionError(f"push {push_id} did not settle: {found}")
        await asyncio.sleep(0.05)
