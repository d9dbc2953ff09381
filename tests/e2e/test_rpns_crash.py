"""kill -9 of rcs_rpns in the middle of push → SMS cascades, with rpns and the PNS simulator
as processes: after the restart every cascade ends with exactly one final outcome, no link
is started twice, and a device gets a push at most twice — once more only for a push that
was in flight at the kill (docs/invariants.md, "Cascades" and "Push")."""

from __future__ import annotations

import asyncio
import collections
import json
import socket
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2

from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from rcs_cli.seed import DEMO_PUSH_APP
from rcs_simulators.pns.certs import make_test_ca
from tests.conftest import free_port
from tests.e2e.installation import COMPONENTS, Installation, http, wait_until
from tests.e2e.test_cascade import rows
from tests.support import seed_push_demo

pytestmark = pytest.mark.e2e
PUSH_TTL = 30
SUBSCRIBERS = 16


def _cascade(number: str, n: int) -> ms.MessageSubmission:
    return ms.MessageSubmission(
        client_ref=f"rpns-crash-{n}",
        destination=number,
        channel=channel_pb2.CHANNEL_PUSH,
        push=message_pb2.PushContent(text=f"push {n}", service_number=DEMO_PUSH_APP),
        ttl=duration_pb2.Duration(seconds=PUSH_TTL),
        cascade=[
            ms.CascadeLink(
                state=ms.CASCADE_STATE_DELIVERED,
                channel=channel_pb2.CHANNEL_SMS,
                sms=message_pb2.SmsContent(text=f"sms {n}", sender="RCS"),
                ttl=duration_pb2.Duration(seconds=600),
            )
        ],
    )


def _push_env(ports: dict[str, int], certs: Path) -> dict[str, str]:
    sim = f"http://127.0.0.1:{ports['pns']}"
    return {
        "RCS_RPNS_BIND": f"127.0.0.1:{ports['rpns']}",
        "RCS_RPNS_SDK_PORT": str(ports["sdk"]),
        "RCS_RPNS_APNS_URL": f"https://127.0.0.1:{ports['apns']}",
        "RCS_RPNS_APNS_CA_FILE": str(certs / "ca.pem"),
        "RCS_RPNS_FCM_URL": f"{sim}/fcm",
        "RCS_RPNS_FCM_TOKEN_URL": f"{sim}/fcm/token",
        "RCS_RPNS_HMS_URL": f"{sim}/hms",
        "RCS_RPNS_HMS_TOKEN_URL": f"{sim}/hms/oauth2/v3/token",
        "RCS_RPNS_RUSTORE_URL": f"{sim}/rustore",
        "RCS_PNS_SIM_APNS_PORT": str(ports["apns"]),
        "RCS_PNS_SIM_HTTP_PORT": str(ports["pns"]),
        "RCS_PNS_SIM_CERT_DIR": str(certs),
        "RCS_PNS_SIM_SDK_URL": f"http://127.0.0.1:{ports['sdk']}",
        # Devices confirm over seconds, so that confirmations arrive across the kill.
        "RCS_PNS_SIM_DELIVER_DELAY_MIN_MS": "200",
        "RCS_PNS_SIM_DELIVER_DELAY_MAX_MS": "4000",
        # Deliveries the killed rpns had claimed come back after the lease: shorter than
        # the push's TTL here, so they are still worth sending (a push whose TTL ended
        # first is not sent and ends UNDELIVERED; docs/invariants.md).
        "RCS_RPNS_PROVIDER_TIMEOUT_SECONDS": "3",
        "RCS_RPNS_SEND_LEASE_SECONDS": "5",
        "RCS_PUSH_TARGET": f"127.0.0.1:{ports['rpns']}",
        "RCS_CASCADE_POLL_SECONDS": "0.5",
    }


async def test_cascades_end_once_across_kill_9_of_rpns(
    installation: Installation, tmp_path: Path
) -> None:
    ports = {name: free_port() for name in ("rpns", "sdk", "apns", "pns")}
    certs = tmp_path / "pns-sim"
    make_test_ca(certs)
    installation.extra_env.update(_push_env(ports, certs))
    api_key = await seed_push_demo(installation.database_url)
    installation.start(*COMPONENTS, "rpns", "pns-simulator")
    await asyncio.to_thread(installation.wait_ready, 120)
    sdk = f"http://127.0.0.1:{ports['sdk']}/api/sdk/v1/installations"
    control = f"http://127.0.0.1:{ports['pns']}/control"

    up = await wait_until(lambda: _listening(ports["sdk"]) and _listening(ports["pns"]), 60)
    assert up, installation.logs()
    numbers = [f"791630000{n:02d}" for n in range(SUBSCRIBERS)]
    silent: dict[str, str] = {}
    for n, number in enumerate(numbers):
        token = f"crash-token-{n}"
        status, answer = await asyncio.to_thread(
            http,
            "POST",
            sdk,
            {"platform": "ANDROID", "token": token, "phone": number},
            headers={"X-Api-Key": api_key, "Content-Type": "application/json"},
        )
        assert status in (200, 201), answer
        if n % 2 == 0:  # never confirmed: the SMS must go, once
            silent[token] = "silent"
    status, answer = await asyncio.to_thread(http, "POST", f"{control}/tokens", silent)
    assert status == 200, answer

    ids: list[str] = []
    core = f"127.0.0.1:{installation.ports['core']}"
    async with grpc.aio.insecure_channel(core) as ch:
        stub = message_service_pb2_grpc.MessageServiceStub(ch)
        for n, number in enumerate(numbers):
            resp = await stub.SubmitMessages(
                ms.SubmitMessagesRequest(partner="demo", messages=[_cascade(number, n)]),
                timeout=10,
            )
            assert not resp.results[0].HasField("error"), resp
            ids.append(resp.results[0].message_id)
            if n == SUBSCRIBERS // 2:
                # Half handed to rpns, confirmations on their way: rpns dies.
                installation.kill("rpns")
        await asyncio.sleep(2)
        installation.start("rpns")

    finals = (
        "SELECT count(*) FROM cascades WHERE id = ANY(%s::bigint[]) AND final_status IS NOT NULL"
    )

    async def all_final() -> bool:
        ((done,),) = await rows(installation, finals, [int(i) for i in ids])
        return int(done) == SUBSCRIBERS

    deadline = asyncio.get_running_loop().time() + PUSH_TTL + 120
    while not await all_final():
        assert asyncio.get_running_loop().time() < deadline, installation.logs()
        await asyncio.sleep(1)
    await asyncio.sleep(3)  # late confirmations and timers, if any were to misbehave

    found = await rows(
        installation,
        "SELECT c.id, c.final_status, c.link_no, count(m.id),"
        " count(m.id) FILTER (WHERE m.channel = 1),"
        " array_agg(m.status ORDER BY m.created_at, m.id)"
        " FROM cascades c JOIN messages m ON m.cascade_id = c.id"
        " WHERE c.id = ANY(%s::bigint[]) GROUP BY c.id",
        [int(i) for i in ids],
    )
    by_id = {str(r[0]): r[1:] for r in found}
    assert sorted(by_id) == sorted(ids)
    for n, mt in enumerate(ids):
        final, link_no, links, sms, statuses = by_id[mt]
        assert final in (3, 4, 5, 6, 7), (mt, final)
        assert links == link_no + 1, (mt, link_no, links)
        assert sms <= 1, (mt, sms)
        if n % 2 == 0:  # silent: the push never confirmed (EXPIRED by the cascade, or
            # UNDELIVERED by rpns's own expiry, whichever came first); the SMS is the outcome
            assert sms == 1, (mt, statuses)
            assert statuses[0] in (4, 5, 6), (mt, statuses)
        elif sms:  # a confirming device whose push could not be sent in time
            assert statuses[0] in (4, 5, 6), (mt, statuses)
        else:
            assert final == statuses[0] == 3, (mt, statuses, final)
    twice = await rows(
        installation,
        "SELECT e.message_id FROM status_events e JOIN messages m ON m.id = e.message_id"
        " WHERE m.cascade_id = ANY(%s::bigint[]) AND e.status IN (3, 4, 5, 6)"
        " GROUP BY e.message_id HAVING count(*) > 1",
        [int(i) for i in ids],
    )
    assert twice == [], "a link got two final statuses"
    status, answer = await asyncio.to_thread(http, "GET", f"{control}/requests?provider=fcm")
    assert status == 200, answer
    per_token = collections.Counter(_token(r) for r in answer["requests"])
    assert set(per_token) <= {f"crash-token-{n}" for n in range(SUBSCRIBERS)}, per_token
    assert len(per_token) == SUBSCRIBERS, per_token  # every subscriber got its push
    assert max(per_token.values()) <= 2, per_token  # beyond the in-flight window: never
    print(f"pushes per device: {sorted(per_token.values())}")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _token(request: dict[str, Any]) -> str:
    return str(json.loads(request["body"])["message"]["token"])
