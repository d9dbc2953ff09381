"""ConnectorService for CHANNEL_PUSH: who gets a push (every active install, or only the
primary one), rest_status.rst's code when nobody can, and a repeated message id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from rcs.common.v1 import channel_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from tests.integration.rpns_helpers import make_app, outbound, register, send, settled
from tests.rpns_rig import PushRig, push_rig

pytestmark = pytest.mark.integration
NUMBER = "79161110000"


@pytest.fixture
async def rig(database_url: str, tmp_path: Path) -> AsyncIterator[PushRig]:
    async with push_rig(database_url, tmp_path) as r:
        yield r


async def _rows(dsn: str, sql: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(sql)
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


async def test_nobody_to_push_to_is_rejected_with_the_documented_code(rig: PushRig) -> None:
    key = await make_app(rig, "SHOP", min_version="2.0")
    numbers = {n: f"7916222{n:04d}" for n in range(8)}
    for token in ("t-gone", "t-gone-too"):
        install = await register(rig, key, platform="ANDROID", token=token, phone=numbers[1])
        gone = await rig.rpns.sdk.delete(
            f"/api/sdk/v1/installations/{install}", headers={"X-Api-Key": key}
        )
        assert gone.status_code == 200
    await register(rig, key, platform="ANDROID", token="t-2", phone=numbers[2], appVersion="2.1")
    await register(rig, key, platform="ANDROID", token="t-3", phone=numbers[3], pushEnabled=False)
    await register(rig, key, platform="ANDROID", token="t-4", phone=numbers[4], osPushEnabled=False)
    await register(
        rig, key, platform="ANDROID", token="t-5", phone=numbers[5], subscriptions=["news"]
    )
    await register(rig, key, platform="ANDROID", token="t-6", phone=numbers[6], appVersion="1.9")
    messages = [
        outbound("SHOP", numbers[0]),  # no install at all
        outbound("SHOP", "", external_user_id="user-404"),
        outbound("SHOP", numbers[1]),  # every install unregistered
        outbound("SHOP", numbers[2], primary_only=True),
        outbound("SHOP", numbers[3]),
        outbound("SHOP", numbers[4]),
        outbound("SHOP", numbers[5], subscription="sales"),
        outbound("SHOP", numbers[6]),
        outbound("NO_SUCH_APP", numbers[2]),
        outbound("SHOP", numbers[2], custom_payload_json="{not json"),
        outbound("SHOP", numbers[2], text="x" * 5000),
    ]
    sms = outbound("SHOP", numbers[2])
    sms.channel = channel_pb2.CHANNEL_SMS
    results = await send(rig, *messages, sms)
    assert [(r.outcome, r.error_code) for r in results] == [
        (cs.SEND_OUTCOME_REJECTED, 20),  # consumer-phone-not-found
        (cs.SEND_OUTCOME_REJECTED, 19),  # consumer-id-not-found
        (cs.SEND_OUTCOME_REJECTED, 22),  # no-active-installations
        (cs.SEND_OUTCOME_REJECTED, 21),  # no-primary-devices
        (cs.SEND_OUTCOME_REJECTED, 23),  # push-disabled
        (cs.SEND_OUTCOME_REJECTED, 24),  # push-os-disabled
        (cs.SEND_OUTCOME_REJECTED, 25),  # subscription-failed
        (cs.SEND_OUTCOME_REJECTED, 27),  # below-min-version
        (cs.SEND_OUTCOME_REJECTED, 18),  # bad-params: unknown serviceNumber
        (cs.SEND_OUTCOME_REJECTED, 18),  # bad-params: custom payload not JSON
        (cs.SEND_OUTCOME_REJECTED, 18),  # bad-params: over 4 KB
        (cs.SEND_OUTCOME_REJECTED, 18),  # not a push
    ]
    assert all(r.detail for r in results)
    assert await _rows(rig.rpns.settings.database_url, "SELECT count(*) FROM rpns_pushes") == 0


async def test_fan_out_reaches_every_active_install_or_only_the_primary(rig: PushRig) -> None:
    key = await make_app(rig, "BANK")
    await register(rig, key, platform="IOS", token="aa" * 32, phone=NUMBER, primary=True)
    await register(rig, key, platform="ANDROID", token="phone-2", phone=NUMBER)
    await register(rig, key, platform="HUAWEI", token="tablet", phone=NUMBER, externalUserId="u-1")
    # A later primary takes the mark from the first.
    await register(rig, key, platform="RUSTORE", token="new-primary", phone=NUMBER, primary=True)
    everyone, primary, by_user = await send(
        rig,
        outbound("BANK", NUMBER),
        outbound("BANK", NUMBER, primary_only=True),
        outbound("BANK", "", external_user_id="u-1"),
    )
    dsn = rig.rpns.settings.database_url
    assert [t for t, *_ in await settled(dsn, everyone.operator_message_ids[0])] == [
        "aa" * 32,
        "new-primary",
        "phone-2",
        "tablet",
    ]
    assert [t for t, *_ in await settled(dsn, primary.operator_message_ids[0])] == ["new-primary"]
    assert [t for t, *_ in await settled(dsn, by_user.operator_message_ids[0])] == ["tablet"]


async def test_a_repeated_message_gets_its_first_push_id_and_is_not_sent_again(
    rig: PushRig,
) -> None:
    key = await make_app(rig, "SHOP")
    await register(rig, key, platform="ANDROID", token="only", phone=NUMBER)
    message = outbound("SHOP", NUMBER)
    (first,) = await send(rig, message)
    (again,) = await send(rig, message)
    assert first.outcome == again.outcome == cs.SEND_OUTCOME_ACCEPTED
    assert list(again.operator_message_ids) == list(first.operator_message_ids)
    assert again.receipt_scope == "rpns"
    twice = outbound("SHOP", NUMBER)  # the same message twice in one call
    one, other = await send(rig, twice, twice)
    assert list(one.operator_message_ids) == list(other.operator_message_ids)
    dsn = rig.rpns.settings.database_url
    assert len(await settled(dsn, first.operator_message_ids[0])) == 1
    assert len(await settled(dsn, one.operator_message_ids[0])) == 1
    assert (await rig.sim.stats())["fcm.accepted"] == 2
