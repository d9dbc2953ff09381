"""Cascades push → SMS over real sockets: every RCS process real (core, dispatcher with the
cascade engine, routing, connector, SMSC simulator, REST gateway), rpns played by
tests/e2e/push_stand_in.py. The push link's validity is 30 s (rest_push.rst's minimum), so
each test runs its cascades side by side and waits for that once."""

from __future__ import annotations

import asyncio
import base64
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rcs_cli.seed import (
    DEMO_ANDROID_TOKEN,
    DEMO_IOS_TOKEN,
    DEMO_PUSH_APP,
    DEMO_PUSH_NUMBER,
)
from rcs_simulators.pns.certs import make_test_ca
from rcs_smpp.constants import MessageState, RapportoTag
from rcs_smpp.pdu import BindTransceiver, DeliverSm, DeliverSmResp, Pdu, SubmitSm, SubmitSmResp
from rcs_smpp.session import SmppSession
from rcs_smpp.tlv import Tlvs
from tests.conftest import free_port
from tests.e2e.installation import COMPONENTS, Installation, http, wait_until
from tests.e2e.push_stand_in import Device, PushStandIn, ReportSink, start_push
from tests.support import seed_push_demo

pytestmark = pytest.mark.e2e
PUSH_TTL = 30
AUTH = {"Authorization": "Basic " + base64.b64encode(b"demo:demo").decode()}


@pytest.fixture
async def rig(
    installation: Installation,
) -> AsyncIterator[tuple[Installation, PushStandIn, ReportSink]]:
    push, server = await start_push(f"127.0.0.1:{installation.ports['core']}")
    sink = ReportSink()
    await sink.start()
    installation.extra_env.update(
        {
            "RCS_PUSH_TARGET": f"127.0.0.1:{server.port}",
            "RCS_PUSH_INTERFACE_ID": "rpns",
            "RCS_CASCADE_POLL_SECONDS": "0.5",
            "RCS_REPORT_RETRY_BASE_SECONDS": "0.5",
        }
    )
    try:
        installation.start()
        await asyncio.to_thread(installation.wait_ready, 120)
        yield installation, push, sink
    finally:
        await sink.stop()
        await server.stop(0)


def v6_cascade(number: str, sink: ReportSink, ref: str, state: str = "DELIVERED") -> dict[str, Any]:
    """rest_cascade.rst's "Push > SMS" example, with our number and report URL."""
    return {
        "login": "demo",
        "password": "demo",
        "id": ref,
        "destAddr": number,
        "registeredDelivery": 1,
        "notifyUrl": sink.url(),
        "message": {
            "type": "PUSH",
            "data": {
                "title": "Заголовок Push-сообщения",
                "text": "Текст уведомления",
                "serviceNumber": "RCS",
                "ttl": PUSH_TTL,
                "ttlUnit": "SECONDS",
            },
        },
        "cascadeChainLink": {
            "state": state,
            "message": {
                "type": "SMS",
                "data": {
                    "text": "Текст доотправляемого SMS-сообщения",
                    "serviceNumber": "RCS",
                    "ttl": 2,
                },
            },
        },
    }


async def rows(inst: Installation, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(inst.database_url) as conn:
        cur = await conn.execute(sql, args)
        return list(await cur.fetchall())


async def links_of(inst: Installation, cascade: str) -> list[tuple[int, int, int]]:
    """(channel, status, error_code) of each link's message, in order."""
    found = await rows(
        inst,
        "SELECT channel, status, error_code FROM messages WHERE cascade_id = %s"
        " ORDER BY created_at, id",
        int(cascade),
    )
    return [(int(a), int(b), int(c)) for a, b, c in found]


async def outcome(inst: Installation, cascade: str) -> tuple[Any, ...]:
    (row,) = await rows(
        inst, "SELECT final_status, final_error, link_no FROM cascades WHERE id = %s", int(cascade)
    )
    return row


async def send(inst: Installation, doc: dict[str, Any]) -> str:
    status, answer = await asyncio.to_thread(http, "POST", inst.url("/api/v6/send"), doc)
    assert status == 200, answer
    return str(answer["mtNum"])


async def test_rest_v6_push_then_sms_cascades(
    rig: tuple[Installation, PushStandIn, ReportSink],
) -> None:
    inst, push, sink = rig
    silent, confirmed, late, read = "79160000001", "79160000002", "79160000003", "79160000004"
    no_install = "79160000005"
    push.devices[no_install] = Device("rejected")
    push.devices[silent] = Device("silent")
    push.devices[confirmed] = Device("delivered", 0.3)
    push.devices[late] = Device("delivered", PUSH_TTL + 6)
    push.devices[read] = Device("read", 0.3)
    ids = {
        n: await send(inst, v6_cascade(n, sink, f"c-{n}", "READ" if n == read else "DELIVERED"))
        for n in (silent, confirmed, late, read, no_install)
    }

    async def settled() -> bool:
        for n in (silent, late):
            links = await links_of(inst, ids[n])
            if len(links) < 2 or links[1][1] != 3:
                return False
        return True

    deadline = asyncio.get_running_loop().time() + PUSH_TTL + 25
    while not await settled():
        assert asyncio.get_running_loop().time() < deadline, inst.logs()
        await asyncio.sleep(0.5)
    # The late device confirms 6 s after the push's validity ended: its receipt must not
    # send a second SMS nor change the outcome.
    await wait_until(lambda: (late, 3) in push.receipts, within=15)
    await asyncio.sleep(2)

    # Never confirmed: the push expired at its TTL (code 7), the SMS went and was delivered.
    assert await links_of(inst, ids[silent]) == [(2, 5, 7), (1, 3, 0)]
    assert (await outcome(inst, ids[silent]))[:2] == (3, 0)
    # No install (rpns REJECTED, code 22): failed for good, so the SMS goes at once.
    assert await links_of(inst, ids[no_install]) == [(2, 6, 22), (1, 3, 0)]
    # Confirmed in time: the cascade ends DELIVERED with the push; no SMS.
    assert await links_of(inst, ids[confirmed]) == [(2, 3, 0)]
    assert (await outcome(inst, ids[confirmed]))[:2] == (3, 0)
    # Read in time on a READ link: READ, no SMS.
    assert await links_of(inst, ids[read]) == [(2, 7, 0)]
    assert (await outcome(inst, ids[read]))[:2] == (7, 0)
    # Late receipt: the push stays EXPIRED, one SMS, one outcome (the SMS's).
    assert await links_of(inst, ids[late]) == [(2, 5, 7), (1, 3, 0)]
    assert (await outcome(inst, ids[late]))[:3] == (3, 0, 1)
    assert sum(m.destination == late for m in push.sent) == 1

    # Reports, as registeredDelivery=1 promises: one per link's final status (READ after
    # DELIVERED is reported too), each under the cascade's mtNum with the link's type.
    def reports(n: str) -> list[tuple[str, int, str]]:
        return [(r["type"], r["status"], r["errorCode"]) for r in sink.of("mtNum", ids[n])]

    def complete() -> bool:
        return all(len(reports(n)) >= 2 for n in (silent, late, read, no_install))

    assert await wait_until(complete, within=15), sink.reports
    assert sorted(reports(silent)) == [("PUSH", 5, "7"), ("SMS", 2, "0")]
    assert sorted(reports(late)) == [("PUSH", 5, "7"), ("SMS", 2, "0")]
    assert reports(confirmed) == [("PUSH", 2, "0")]
    assert sorted(reports(no_install)) == [("PUSH", 5, "22"), ("SMS", 2, "0")]
    assert reports(read) == [("PUSH", 2, "0"), ("PUSH", 9, "0")]
    assert all(r["id"] == f"c-{r['destAddr']}" for r in sink.reports)

    # The status pull by the cascade's mtNum: the last link, with every link's history.
    code, view = await asyncio.to_thread(
        http, "GET", inst.url(f"/api/v6/messages/{ids[silent]}"), headers=AUTH
    )
    assert code == 200, view
    assert (view["mtNum"], view["type"], view["status"]) == (ids[silent], "SMS", "DELIVERED")
    assert [h["status"] for h in view["history"]] == [
        "ACCEPTED",
        "SENT",
        "EXPIRED",
        "ACCEPTED",
        "SENT",
        "DELIVERED",
    ]
    code, view = await asyncio.to_thread(
        http, "GET", inst.url(f"/api/v6/messages/{ids[read]}"), headers=AUTH
    )
    assert (view["type"], view["status"], view["statusCode"]) == ("PUSH", "READ", 9)


async def test_http_v5_and_smpp_push_then_sms_cascades(
    installation: Installation,
) -> None:
    """http_cascade.rst's order_list=p,s and SMPP_API's cascade_order "P,S": the push is
    never confirmed, so after its 30 s validity the SMS goes and is delivered; the partner
    gets a report per link under the id it was given (v5 GET callback; SMPP deliver_sm
    with message_type PUSH, then SMS)."""
    push, server = await start_push(f"127.0.0.1:{installation.ports['core']}")
    sink = ReportSink()
    await sink.start()
    smpp_port = free_port()
    v5_number, smpp_number = "79160000011", "79160000012"
    push.devices[v5_number] = Device("silent")
    push.devices[smpp_number] = Device("silent")
    async with await psycopg.AsyncConnection.connect(installation.database_url) as conn:
        await conn.execute(
            "UPDATE partners SET report_url = %s WHERE login = 'demo'", (sink.url(),)
        )
        await conn.commit()
    installation.extra_env.update(
        {
            "RCS_PUSH_TARGET": f"127.0.0.1:{server.port}",
            "RCS_CASCADE_POLL_SECONDS": "0.5",
            "RCS_SMPP_PORT": str(smpp_port),
        }
    )
    receipts: list[DeliverSm] = []

    async def on_request(pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, DeliverSm):
            receipts.append(pdu)
            return DeliverSmResp()
        return None

    try:
        installation.start(*COMPONENTS, "smpp")
        await asyncio.to_thread(installation.wait_ready, 120)
        query = urllib.parse.urlencode(
            {
                "serviceId": "demo",
                "pass": "demo",
                "clientId": v5_number,
                "message": "Push first",
                "order_list": "p,s",
                "p_resendValid": f"0000000000{PUSH_TTL:02d}000R",
                "s_resendText": "SMS after the push",
            }
        )
        code, text = await asyncio.to_thread(
            http_text, installation.url(f"/api/http/v5/send?{query}")
        )
        assert code == 200, text
        assert text.startswith("OK\n"), text
        v5_id = text.split("\n")[1]

        await wait_until(lambda: _listening(smpp_port), within=30)
        reader, writer = await asyncio.open_connection("127.0.0.1", smpp_port)
        esme = SmppSession(reader, writer, on_request, window=10, name="esme")
        esme.start()
        for _ in range(30):  # 0x08 while core's AuthService does not answer yet (loaded host)
            bound = await esme.send_request(BindTransceiver(system_id="demo", password="demo"))
            if bound.command_status != 0x08:
                break
            await asyncio.sleep(1)
        assert bound.command_status == 0, (bound, installation.logs())
        tlvs = Tlvs()
        tlvs[RapportoTag.CASCADE_ORDER] = b"P,S"
        tlvs[RapportoTag.SMS_CASCADE_MODE] = b"Y"
        tlvs[RapportoTag.SMS_CASCADE_TEXT] = "SMS после push".encode()
        resp = await esme.send_request(
            SubmitSm(
                source_addr="RCS",
                destination_addr=smpp_number,
                registered_delivery=1,
                validity_period=f"0000000000{PUSH_TTL:02d}000R",
                short_message=b"Push over SMPP",
                tlvs=tlvs,
            )
        )
        assert isinstance(resp, SubmitSmResp), resp
        assert resp.command_status == 0, resp
        smpp_id = resp.message_id

        async def both_sms_delivered() -> bool:
            for mt in (v5_id, smpp_id):
                links = await links_of(installation, mt)
                if len(links) < 2 or links[1][1] != 3:
                    return False
            return True

        deadline = asyncio.get_running_loop().time() + PUSH_TTL + 30
        while not await both_sms_delivered():
            assert asyncio.get_running_loop().time() < deadline, installation.logs()
            await asyncio.sleep(0.5)
        for mt in (v5_id, smpp_id):
            assert await links_of(installation, mt) == [(2, 5, 7), (1, 3, 0)]
            assert (await outcome(installation, mt))[:2] == (3, 0)
        (sms_text,) = (
            await rows(
                installation,
                "SELECT body FROM messages WHERE cascade_id = %s AND channel = 1",
                int(v5_id),
            )
        )[0]
        assert sms_text == "SMS after the push"

        # HTTP v5 GET callbacks (http_status.rst): transactionId is the id answered.
        assert await wait_until(lambda: len(sink.of("transactionId", v5_id)) >= 2, within=20), (
            sink.reports
        )
        v5 = sorted(
            (r["msgType"], r["status"], r.get("unifiedExtStatus"))
            for r in sink.of("transactionId", v5_id)
        )
        assert v5 == [("PUSH", "5", "7"), ("SMS", "2", None)]
        # SMPP receipts: receipted_message_id is submit_sm_resp's id, message_type the link's.
        assert await wait_until(lambda: len(receipts) >= 2, within=20), installation.logs()
        got = sorted(
            (
                r.tlvs.receipted_message_id,
                r.tlvs.get_cstring(RapportoTag.MESSAGE_TYPE),
                r.tlvs.message_state,
            )
            for r in receipts
        )
        assert got == sorted(
            [(smpp_id, "PUSH", MessageState.EXPIRED), (smpp_id, "SMS", MessageState.DELIVERED)]
        )
        await esme.unbind()
    finally:
        await sink.stop()
        await server.stop(0)


def http_text(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_rest_v6_cascade_through_the_real_rpns_and_pns_simulator(
    installation: Installation, tmp_path: Path
) -> None:
    """The same cascade with rcs_rpns and the PNS simulator as processes, as make run has
    them: the demo subscriber's two installs never confirm (tokens "silent" at the
    simulator), so the SMS goes after the push's 30 s; a subscriber whose install confirms
    gets the push only."""
    ports = {name: free_port() for name in ("rpns", "sdk", "apns", "pns")}
    certs = tmp_path / "pns-sim"
    make_test_ca(certs)  # before rpns starts: it trusts this ca.pem
    sim = f"http://127.0.0.1:{ports['pns']}"
    push_env = {
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
        "RCS_PNS_SIM_TOKENS": f"{DEMO_IOS_TOKEN}=silent,{DEMO_ANDROID_TOKEN}=silent",
        "RCS_PUSH_TARGET": f"127.0.0.1:{ports['rpns']}",
        "RCS_CASCADE_POLL_SECONDS": "0.5",
    }
    installation.extra_env.update(push_env)
    api_key = await seed_push_demo(installation.database_url)
    sink = ReportSink()
    await sink.start()
    try:
        installation.start(*COMPONENTS, "rpns", "pns-simulator")
        await asyncio.to_thread(installation.wait_ready, 120)
        await wait_until(lambda: _listening(ports["sdk"]) and _listening(ports["pns"]), within=60)
        confirmed = "79160000021"
        status, answer = await asyncio.to_thread(
            http,
            "POST",
            f"http://127.0.0.1:{ports['sdk']}/api/sdk/v1/installations",
            {"platform": "ANDROID", "token": "confirming-token", "phone": confirmed},
            headers={"X-Api-Key": api_key, "Content-Type": "application/json"},
        )
        assert status in (200, 201), answer
        ids = {}
        for number in (DEMO_PUSH_NUMBER, confirmed):
            doc = v6_cascade(number, sink, f"r-{number}")
            doc["message"]["data"]["serviceNumber"] = DEMO_PUSH_APP
            ids[number] = await send(installation, doc)

        deadline = asyncio.get_running_loop().time() + PUSH_TTL + 40
        while True:
            links = await links_of(installation, ids[DEMO_PUSH_NUMBER])
            if len(links) == 2 and links[1][1] == 3:
                break
            assert asyncio.get_running_loop().time() < deadline, installation.logs()
            await asyncio.sleep(0.5)
        assert links == [(2, 5, 7), (1, 3, 0)]
        assert (await outcome(installation, ids[DEMO_PUSH_NUMBER]))[:2] == (3, 0)
        assert await links_of(installation, ids[confirmed]) in ([(2, 3, 0)], [(2, 7, 0)])
        assert (await outcome(installation, ids[confirmed]))[0] in (3, 7)

        def reports(n: str) -> list[tuple[str, int]]:
            return sorted((r["type"], r["status"]) for r in sink.of("mtNum", ids[n]))

        assert await wait_until(lambda: len(reports(DEMO_PUSH_NUMBER)) >= 2, within=20)
        assert reports(DEMO_PUSH_NUMBER) == [("PUSH", 5), ("SMS", 2)]
        assert reports(confirmed)[0] == ("PUSH", 2)
    finally:
        await sink.stop()
