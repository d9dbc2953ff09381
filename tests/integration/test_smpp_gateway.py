"""SMPP gateway over real sockets (smpplib as the ESME) → real gRPC → core on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp

from gateways.smpp.server import SmppGateway
from gateways.smpp.settings import SmppGatewaySettings
from rcs.common.v1 import status_pb2
from rcs.core.v1 import auth_service_pb2_grpc, message_service_pb2_grpc
from rcs.core.v1 import message_service_pb2 as ms
from rcs_core.auth import partners_store as partners
from rcs_core.auth.servicer import AuthServicer
from rcs_core.settings.partner_channels import grant_every_messenger
from rcs_runtime.grpc_client import open_channel
from tests.core_services import CoreServices
from tests.support import start_server

pytestmark = pytest.mark.integration
LOGIN, PASSWORD = "acme", "pw-12345"  # SMPP passwords are at most 8 characters
UDHI = 0x40


@dataclass
class Rig:
    start: Callable[..., Awaitable[int]]
    core: message_service_pb2_grpc.MessageServiceAsyncStub
    database_url: str
    gateways: list[SmppGateway]  # started, in order

    async def rows(self, sql: str) -> list[tuple[Any, ...]]:
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            cur = await conn.execute(sql.encode())
            return list(await cur.fetchall())

    async def execute(self, sql: str) -> None:
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            await conn.execute(sql.encode())

    async def count(self) -> int:
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            cur = await conn.execute("SELECT count(*) FROM messages")
            row = await cur.fetchone()
            assert row is not None
            return int(row[0])


@pytest.fixture
async def rig(pool: Any, database_url: str) -> AsyncIterator[Rig]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, LOGIN, PASSWORD, default_sender="ACME")
        await grant_every_messenger(conn, LOGIN)  # messenger channels: deny by default
        await conn.commit()
    messages = CoreServices(pool, installation_id=7)
    server = await start_server(
        messages.register,
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    started: list[SmppGateway] = []

    async def start(**settings: Any) -> int:
        gateway = SmppGateway(SmppGatewaySettings(smpp_port=0, **settings), channel)
        started.append(gateway)
        return await gateway.start()

    yield Rig(start, message_service_pb2_grpc.MessageServiceStub(channel), database_url, started)
    for gateway in started:
        await gateway.stop()
    await channel.close()
    await server.stop(0)
    await messages.close()


# -- the ESME (smpplib is synchronous: these run in a thread) --------------------------------


def connect(port: int) -> smpplib.client.Client:
    client = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    client.connect()
    return client


def bound(port: int, password: str = PASSWORD, mode: str = "bind_transceiver") -> Any:
    client = connect(port)
    getattr(client, mode)(system_id=LOGIN, password=password)
    return client


def bind_status(port: int, password: str, system_id: str = LOGIN) -> int:
    client = connect(port)
    try:
        client.bind_transceiver(system_id=system_id, password=password)
    except smpplib.exceptions.PDUError as e:
        return int(e.args[1])
    finally:
        client.disconnect()
    return 0


def submit_pdu(client: Any, text: bytes, **extra: Any) -> Any:
    fields: dict[str, Any] = {
        "source_addr": "ACME",
        "destination_addr": "79161234567",
        "short_message": text,
        **extra,
    }
    return smpplib.smpp.make_pdu("submit_sm", client=client, **fields)


def exchange(client: Any, *pdus: Any) -> list[Any]:
    """Write every PDU first (as a windowed ESME does), then read one response each,
    returned in request order. Bypasses smpplib's own bind-state check."""
    for pdu in pdus:
        client._socket.sendall(pdu.generate())
    responses = {}
    for _ in pdus:
        resp = client.read_pdu()
        responses[resp.sequence] = resp
    return [responses[p.sequence] for p in pdus]


def message_id(resp: Any) -> str:
    value = resp.message_id
    return value.decode() if isinstance(value, bytes) else str(value)


# -- tests ------------------------------------------------------------------------------------


async def test_bind_checks_credentials(rig: Rig) -> None:
    port = await rig.start()
    assert await asyncio.to_thread(bind_status, port, PASSWORD) == 0
    assert await asyncio.to_thread(bind_status, port, "wrong") == 0x0E
    assert await asyncio.to_thread(bind_status, port, PASSWORD, "nobody") == 0x0F


def _bind_twice_and_submit_unbound(port: int) -> tuple[int, int, int]:
    fresh = connect(port)
    (early,) = exchange(fresh, submit_pdu(fresh, b"too early"))
    again = smpplib.smpp.make_pdu(
        "bind_transceiver", client=fresh, system_id=LOGIN, password=PASSWORD
    )
    (first,) = exchange(fresh, again)
    second = smpplib.smpp.make_pdu(
        "bind_transmitter", client=fresh, system_id=LOGIN, password=PASSWORD
    )
    (twice,) = exchange(fresh, second)
    fresh.disconnect()
    return int(early.status), int(first.status), int(twice.status)


async def test_submit_before_bind_and_second_bind_are_refused(rig: Rig) -> None:
    port = await rig.start()
    early, first, twice = await asyncio.to_thread(_bind_twice_and_submit_unbound, port)
    assert early == 0x04
    assert first == 0
    assert twice == 0x05
    assert await rig.count() == 0


def bind_mode_status(port: int, mode: str) -> tuple[int, smpplib.client.Client | None]:
    """(command_status, the bound client or None): a refused client is disconnected."""
    client = connect(port)
    try:
        getattr(client, mode)(system_id=LOGIN, password=PASSWORD)
    except smpplib.exceptions.PDUError as e:
        client.disconnect()
        return int(e.args[1]), None
    return 0, client


def unbind(client: smpplib.client.Client) -> None:
    client.unbind()
    client.disconnect()


async def test_binds_beyond_the_logins_session_limit_are_refused_with_0x05(rig: Rig) -> None:
    """SMPP_API 1.3: the limit is per partner; a transmitter and a receiver are two
    sessions, a transceiver one; an unbind frees its slot at once."""
    await rig.execute("UPDATE partners SET max_smpp_sessions = 2")
    port = await rig.start()
    tx_status, tx = await asyncio.to_thread(bind_mode_status, port, "bind_transmitter")
    rx_status, rx = await asyncio.to_thread(bind_mode_status, port, "bind_receiver")
    assert (tx_status, rx_status) == (0, 0)
    assert tx is not None
    assert rx is not None
    for mode in ("bind_transceiver", "bind_transmitter", "bind_receiver"):
        status, _ = await asyncio.to_thread(bind_mode_status, port, mode)
        assert status == 0x05, mode
    await asyncio.to_thread(unbind, tx)
    trx_status, trx = await asyncio.to_thread(bind_mode_status, port, "bind_transceiver")
    assert trx_status == 0
    assert trx is not None
    status, _ = await asyncio.to_thread(bind_mode_status, port, "bind_transceiver")
    assert status == 0x05
    rx.disconnect()  # a dropped connection frees its slot too, once the gateway sees it
    for _ in range(50):
        status, again = await asyncio.to_thread(bind_mode_status, port, "bind_transceiver")
        if status == 0:
            break
        await asyncio.sleep(0.1)
    assert status == 0
    for client in (trx, again):
        assert client is not None
        await asyncio.to_thread(unbind, client)


async def test_concurrent_binds_take_no_more_than_the_limit(rig: Rig) -> None:
    await rig.execute("UPDATE partners SET max_smpp_sessions = 2")
    port = await rig.start()
    loop = asyncio.get_running_loop()
    # Own threads: the default executor also runs core's password checks in this process.
    with ThreadPoolExecutor(max_workers=6) as esmes:
        results = await asyncio.gather(
            *(
                loop.run_in_executor(esmes, bind_mode_status, port, "bind_transceiver")
                for _ in range(6)
            )
        )
    assert sorted(status for status, _ in results) == [0, 0, 5, 5, 5, 5]
    for _, client in results:
        if client is not None:
            await asyncio.to_thread(unbind, client)


async def _bind_eventually(port: int, seconds: float = 5.0) -> smpplib.client.Client:
    """Bind a transceiver, retrying while it is refused 0x05 (a slot comes back)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        status, client = await asyncio.to_thread(bind_mode_status, port, "bind_transceiver")
        if status == 0:
            assert client is not None
            return client
        assert status == 0x05
        assert loop.time() < deadline, "no slot came back"
        await asyncio.sleep(0.1)


async def test_the_session_limit_holds_over_every_gateway(rig: Rig) -> None:
    """SMPP_API 1.3: the limit is the login's, whichever gateway process a bind reaches;
    core counts the sessions (smpp_sessions), an unbind on one gateway frees a slot for
    another at once."""
    await rig.execute("UPDATE partners SET max_smpp_sessions = 2")
    port_a, port_b = await rig.start(), await rig.start()
    a, b = rig.gateways
    assert a.gateway_id != b.gateway_id
    s1, a1 = await asyncio.to_thread(bind_mode_status, port_a, "bind_transmitter")
    s2, a2 = await asyncio.to_thread(bind_mode_status, port_a, "bind_receiver")
    assert (s1, s2) == (0, 0)
    assert a1 is not None
    assert a2 is not None
    for mode in ("bind_transceiver", "bind_transmitter", "bind_receiver"):
        status, _ = await asyncio.to_thread(bind_mode_status, port_b, mode)
        assert status == 0x05, mode
    assert await rig.rows("SELECT gateway_id, mode FROM smpp_sessions ORDER BY mode") == [
        (a.gateway_id, "receiver"),
        (a.gateway_id, "transmitter"),
    ]
    await asyncio.to_thread(unbind, a1)  # freed before unbind_resp: no waiting
    s3, b1 = await asyncio.to_thread(bind_mode_status, port_b, "bind_transceiver")
    assert s3 == 0
    assert b1 is not None
    status, _ = await asyncio.to_thread(bind_mode_status, port_a, "bind_transceiver")
    assert status == 0x05
    assert await rig.rows("SELECT gateway_id, mode FROM smpp_sessions ORDER BY mode") == [
        (a.gateway_id, "receiver"),
        (b.gateway_id, "transceiver"),
    ]
    # A dropped connection frees its slot too, once its gateway sees it.
    a2.disconnect()
    a3 = await _bind_eventually(port_a)
    for client in (a3, b1):
        await asyncio.to_thread(unbind, client)
    assert await rig.rows("SELECT count(*) FROM smpp_sessions") == [(0,)]


async def test_a_gateway_that_stops_renewing_frees_its_slots_when_the_lease_ends(
    rig: Rig,
) -> None:
    """A gateway that died (here: stalled, its renewals stopped, its sessions still open)
    holds its slots only until their leases end. When it comes back, core no longer counts
    its sessions: it claims them again, keeps the one it cannot count bound (logged) and
    counts it as soon as a slot is free."""
    await rig.execute("UPDATE partners SET max_smpp_sessions = 2")
    port_a = await rig.start(smpp_session_lease_seconds=2)
    port_b = await rig.start(smpp_session_lease_seconds=2)
    a, b = rig.gateways
    a1, a2 = await _bind_eventually(port_a, 0), await _bind_eventually(port_a, 0)
    await asyncio.sleep(2.5)  # longer than the lease, renewed meanwhile: still held
    status, _ = await asyncio.to_thread(bind_mode_status, port_b, "bind_transceiver")
    assert status == 0x05
    assert a.slots._renewer is not None
    a.slots._renewer.cancel()  # the stall
    b1 = await _bind_eventually(port_b, 5)
    b2 = await _bind_eventually(port_b, 5)
    assert await rig.rows(
        "SELECT gateway_id, count(*) FROM smpp_sessions WHERE expires_at > now() GROUP BY 1"
    ) == [(b.gateway_id, 2)]
    # Gateway A comes back: both its sessions are unknown to core now, no slot is free.
    a.slots.start()
    await asyncio.sleep(1.0)
    assert await rig.rows(
        "SELECT gateway_id, count(*) FROM smpp_sessions WHERE expires_at > now() GROUP BY 1"
    ) == [(b.gateway_id, 2)]
    await asyncio.to_thread(unbind, b1)
    for _ in range(50):
        live = await rig.rows(
            "SELECT gateway_id, count(*) FROM smpp_sessions WHERE expires_at > now()"
            " GROUP BY 1 ORDER BY 2"
        )
        if len(live) == 2:
            break
        await asyncio.sleep(0.1)
    assert sorted(live) == sorted([(a.gateway_id, 1), (b.gateway_id, 1)])
    # A's sessions stayed bound all along.
    for client in (a1, a2, b2):
        await asyncio.to_thread(unbind, client)


async def test_concurrent_binds_over_two_gateways_leave_one_the_last_slot(rig: Rig) -> None:
    await rig.execute("UPDATE partners SET max_smpp_sessions = 3")
    ports = [await rig.start(), await rig.start()]
    first = [await _bind_eventually(ports[0], 0), await _bind_eventually(ports[1], 0)]
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=6) as esmes:
        results = await asyncio.gather(
            *(
                loop.run_in_executor(esmes, bind_mode_status, ports[n % 2], "bind_transceiver")
                for n in range(6)
            )
        )
    assert sorted(status for status, _ in results) == [0, 5, 5, 5, 5, 5]
    assert await rig.rows("SELECT count(*) FROM smpp_sessions") == [(3,)]
    for client in [*first, *(c for _, c in results if c is not None)]:
        await asyncio.to_thread(unbind, client)


async def test_stop_releases_every_slot_at_once(rig: Rig) -> None:
    await rig.execute("UPDATE partners SET max_smpp_sessions = 2")
    port_a, port_b = await rig.start(), await rig.start()
    a = rig.gateways[0]
    held = [await _bind_eventually(port_a, 0), await _bind_eventually(port_a, 0)]
    await a.stop()
    assert await rig.rows("SELECT count(*) FROM smpp_sessions") == [(0,)]
    b1 = await _bind_eventually(port_b, 0)
    await asyncio.to_thread(unbind, b1)
    for client in held:
        client.disconnect()


def _receiver_submits(port: int) -> int:
    client = bound(port, mode="bind_receiver")
    (resp,) = exchange(client, submit_pdu(client, b"hi"))
    client.disconnect()
    return int(resp.status)


async def test_receiver_may_not_submit(rig: Rig) -> None:
    port = await rig.start()
    assert await asyncio.to_thread(_receiver_submits, port) == 0x04


def _submit_and_query(port: int) -> tuple[Any, Any, Any]:
    client = bound(port)
    (resp,) = exchange(
        client,
        submit_pdu(
            client, b"Hello from SMPP", data_coding=0, registered_delivery=1, priority_flag=2
        ),
    )
    mid = message_id(resp)
    (query,) = exchange(
        client, smpplib.smpp.make_pdu("query_sm", client=client, message_id=mid, source_addr="ACME")
    )
    (unknown,) = exchange(
        client,
        smpplib.smpp.make_pdu("query_sm", client=client, message_id="1234567", source_addr="ACME"),
    )
    client.unbind()
    client.disconnect()
    return resp, query, unknown


async def test_short_gsm_message_is_stored_and_queried(rig: Rig) -> None:
    port = await rig.start()
    resp, query, unknown = await asyncio.to_thread(_submit_and_query, port)
    assert resp.status == 0
    mid = message_id(resp)
    stored = (await rig.core.GetMessage(ms.GetMessageRequest(message_id=mid))).message
    assert stored.partner == LOGIN
    assert stored.sms.text == "Hello from SMPP"
    assert stored.sms.sender == "ACME"
    assert stored.destination == "79161234567"
    assert stored.priority == 2
    assert stored.status == status_pb2.MESSAGE_STATUS_ACCEPTED
    assert query.status == 0
    assert message_id(query) == mid
    assert query.message_state == 1  # ENROUTE: accepted, not final
    assert unknown.status == 0x67


def _send_parts(port: int, text: str, *, udh: bool) -> list[Any]:
    client = bound(port)
    parts, encoding, esm_class = smpplib.gsm.make_parts(
        text, encoding=smpplib.consts.SMPP_ENCODING_ISO10646, use_udhi=udh
    )
    pdus = []
    for n, part in enumerate(parts, start=1):
        extra: dict[str, Any] = {"data_coding": encoding, "esm_class": esm_class}
        if not udh:
            extra.update(sar_msg_ref_num=777, sar_total_segments=len(parts), sar_segment_seqnum=n)
        pdus.append(submit_pdu(client, part, **extra))
    responses = exchange(client, *pdus)
    client.disconnect()
    return responses


@pytest.mark.parametrize("udh", [True, False], ids=["udh", "sar"])
async def test_long_ucs2_message_becomes_one_message(rig: Rig, udh: bool) -> None:
    port = await rig.start()
    text = "Привет из SMPP, это длинное сообщение. " * 6  # 234 chars: 4 parts of 67
    responses = await asyncio.to_thread(_send_parts, port, text, udh=udh)
    assert len(responses) == 4
    assert [r.status for r in responses] == [0, 0, 0, 0]
    ids = {message_id(r) for r in responses}
    assert len(ids) == 1  # every part answered with the whole message's id
    (mid,) = ids
    stored = (await rig.core.GetMessage(ms.GetMessageRequest(message_id=mid))).message
    assert stored.sms.text == text
    assert await rig.count() == 1


def _one_part_at_a_time(port: int, text: str) -> list[Any]:
    """A window-1 ESME: the next part only after the previous response."""
    client = bound(port)
    parts, encoding, esm_class = smpplib.gsm.make_parts(
        text, encoding=smpplib.consts.SMPP_ENCODING_ISO10646
    )
    out = []
    for part in parts:
        out += exchange(client, submit_pdu(client, part, data_coding=encoding, esm_class=esm_class))
    client.disconnect()
    return out


async def test_window_one_esme_gets_every_parts_id_at_once(rig: Rig) -> None:
    port = await rig.start()
    text = "Ответ частями " * 10
    responses = await asyncio.to_thread(_one_part_at_a_time, port, text)
    assert len(responses) == 3
    assert {r.status for r in responses} == {0}
    (mid,) = {message_id(r) for r in responses}
    stored = await rig.core.GetMessage(ms.GetMessageRequest(message_id=mid))
    assert stored.message.sms.text == text
    assert await rig.count() == 1


def _burst(port: int, n: int) -> list[int]:
    client = bound(port)
    responses = exchange(client, *(submit_pdu(client, b"burst %d" % i) for i in range(n)))
    client.disconnect()
    return [int(r.status) for r in responses]


async def test_submits_above_the_rate_are_throttled(rig: Rig) -> None:
    port = await rig.start(smpp_submits_per_second=2)
    statuses = await asyncio.to_thread(_burst, port, 6)
    assert statuses.count(0) in (2, 3)  # a burst of one second's worth, maybe one refill
    assert statuses.count(0x58) == 6 - statuses.count(0)
    assert await rig.count() == statuses.count(0)


def _bad_fields(port: int) -> list[int]:
    client = bound(port)
    responses = exchange(
        client,
        submit_pdu(client, b"x", destination_addr="not-a-number"),
        # binary with UDHI whose header overruns the data
        submit_pdu(client, bytes([9, 0, 3, 9, 2, 1]), data_coding=4, esm_class=0x40),
        submit_pdu(client, b"x", schedule_delivery_time="000001000000000X"),
    )
    client.disconnect()
    return [int(r.status) for r in responses]


async def test_refusals_map_to_smpp_statuses(rig: Rig) -> None:
    port = await rig.start()
    assert await asyncio.to_thread(_bad_fields, port) == [0x0B, 0x45, 0x61]
    assert await rig.count() == 0


async def test_core_down_is_a_system_error(rig: Rig) -> None:
    gateway = SmppGateway(
        SmppGatewaySettings(smpp_port=0, rpc_timeout_seconds=1), open_channel("127.0.0.1:1")
    )
    port = await gateway.start()
    try:
        assert await asyncio.to_thread(bind_status, port, PASSWORD) == 0x08
    finally:
        await gateway.stop()


def _payload(port: int, text: str) -> Any:
    client = bound(port)
    (resp,) = exchange(
        client, submit_pdu(client, b"", data_coding=8, message_payload=text.encode("utf-16-be"))
    )
    client.disconnect()
    return resp


async def test_message_payload_carries_a_whole_message(rig: Rig) -> None:
    port = await rig.start()
    text = "Целое сообщение в message_payload. " * 3
    resp = await asyncio.to_thread(_payload, port, text)
    assert resp.status == 0
    stored = await rig.core.GetMessage(ms.GetMessageRequest(message_id=message_id(resp)))
    assert stored.message.sms.text == text


def _submit_flash(port: int) -> list[Any]:
    client = bound(port)
    answers = exchange(
        client,
        submit_pdu(client, b"Flash!", data_coding=0x10),
        submit_pdu(client, "Молния".encode("utf-16-be"), data_coding=0x18),
        submit_pdu(client, b"Plain", data_coding=0),
    )
    client.unbind()
    client.disconnect()
    return answers


async def test_message_class_0_is_a_flash_sms(rig: Rig) -> None:
    """data_coding 0x10 (GSM 03.38) and 0x18 (UCS-2) carry message class 0: stored as
    flash SMS with their text; data_coding 0 is an ordinary SMS."""
    port = await rig.start()
    answers = await asyncio.to_thread(_submit_flash, port)
    assert [a.status for a in answers] == [0, 0, 0]
    stored = [
        (await rig.core.GetMessage(ms.GetMessageRequest(message_id=message_id(a)))).message.sms
        for a in answers
    ]
    assert [(s.text, s.flash) for s in stored] == [
        ("Flash!", True),
        ("Молния", True),
        ("Plain", False),
    ]


def _submit_binary(port: int) -> list[Any]:
    client = bound(port)
    answers = exchange(
        client,
        # WAP push: its own header (port addressing), data_coding 0xF5.
        submit_pdu(
            client, bytes.fromhex("0605040b8423f0dc0601ae"), data_coding=0xF5, esm_class=0x40
        ),
        submit_pdu(client, b"\x00\x01\xff", data_coding=4),
    )
    client.unbind()
    client.disconnect()
    return answers


async def test_a_whole_binary_message_goes_to_core_as_octets(rig: Rig) -> None:
    port = await rig.start()
    answers = await asyncio.to_thread(_submit_binary, port)
    assert [a.status for a in answers] == [0, 0]
    stored = [
        (await rig.core.GetMessage(ms.GetMessageRequest(message_id=message_id(a)))).message.sms
        for a in answers
    ]
    assert [(s.payload, s.data_coding, s.esm_class, s.text) for s in stored] == [
        (bytes.fromhex("0605040b8423f0dc0601ae"), 0xF5, 0x40, ""),
        (b"\x00\x01\xff", 4, 0, ""),
    ]


def _submit_binary_parts(port: int) -> list[Any]:
    client = bound(port)
    answers = exchange(
        client,
        # WAP push split by the ESME: ports and an 8-bit concatenation reference in the UDH
        submit_pdu(
            client,
            bytes.fromhex("0b05040b8423f00003a70201") + b"\x01" * 128,
            data_coding=0xF5,
            esm_class=0x40,
        ),
        submit_pdu(
            client,
            bytes.fromhex("0b05040b8423f00003a70202") + b"\x02" * 10,
            data_coding=0xF5,
            esm_class=0x40,
        ),
        # binary parts joined by SAR TLVs: 8-bit and 16-bit references
        submit_pdu(
            client,
            b"\x03" * 5,
            data_coding=4,
            sar_msg_ref_num=7,
            sar_total_segments=2,
            sar_segment_seqnum=1,
        ),
        submit_pdu(
            client,
            b"\x04" * 5,
            data_coding=4,
            sar_msg_ref_num=0x1234,
            sar_total_segments=2,
            sar_segment_seqnum=2,
        ),
    )
    client.unbind()
    client.disconnect()
    return answers


async def test_binary_parts_go_on_one_by_one_with_their_own_header(rig: Rig) -> None:
    """Core joins text parts; binary parts keep every element of the ESME's header (here a
    WAP push's ports), so each is a message of its own with its own id, and the handset
    joins them. SAR TLVs become the concatenation header they stand for."""
    port = await rig.start()
    answers = await asyncio.to_thread(_submit_binary_parts, port)
    assert [a.status for a in answers] == [0, 0, 0, 0]
    assert len({message_id(a) for a in answers}) == 4
    stored = [
        (await rig.core.GetMessage(ms.GetMessageRequest(message_id=message_id(a)))).message.sms
        for a in answers
    ]
    assert [(s.payload, s.data_coding, s.esm_class) for s in stored] == [
        (bytes.fromhex("0b05040b8423f00003a70201") + b"\x01" * 128, 0xF5, 0x40),
        (bytes.fromhex("0b05040b8423f00003a70202") + b"\x02" * 10, 0xF5, 0x40),
        (bytes.fromhex("050003070201") + b"\x03" * 5, 4, 0x40),
        (bytes.fromhex("06080412340202") + b"\x04" * 5, 4, 0x40),
    ]


def _submit_scheduled(port: int) -> list[Any]:
    client = bound(port)
    answers = exchange(
        client,
        submit_pdu(client, b"in an hour", schedule_delivery_time="000000010000000R"),
        submit_pdu(client, b"yesterday: now", schedule_delivery_time="200101120000000+"),
        submit_pdu(
            client,
            b"after its validity",
            schedule_delivery_time="000000020000000R",
            validity_period="000000010000000R",
        ),
    )
    client.unbind()
    client.disconnect()
    return answers


async def test_schedule_delivery_time_holds_the_message_in_the_queue(rig: Rig) -> None:
    """Relative or absolute, it becomes the message's send_after and its queue row's
    not_before; a past time means at once; a time not before the validity's end is 0x62."""
    port = await rig.start()
    soon, past, late = await asyncio.to_thread(_submit_scheduled, port)
    assert (soon.status, past.status, late.status) == (0, 0, 0x62)
    rows = await rig.rows(
        "SELECT m.body, abs(extract(epoch FROM m.send_after - m.created_at) - 3600) < 10,"
        " q.not_before > now() + interval '50 minutes'"
        " FROM messages m JOIN dispatch_queue q ON q.message_id = m.id ORDER BY m.body"
    )
    assert rows == [("in an hour", True, True), ("yesterday: now", None, False)]


def _submit_statuses(port: int, n: int) -> list[int]:
    client = bound(port)
    statuses = []
    for i in range(n):
        (resp,) = exchange(client, submit_pdu(client, f"queued {i}".encode()))
        statuses.append(int(resp.status))
    client.unbind()
    client.disconnect()
    return statuses


async def test_a_full_queue_answers_submit_sm_0x14(pool: Any, database_url: str) -> None:
    """RCS_MAX_QUEUE_DEPTH 2, no dispatcher: two are queued, then ESME_RMSGQFUL (0x14)."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, LOGIN, PASSWORD, default_sender="ACME")
        await conn.commit()
    messages = CoreServices(pool, installation_id=7, max_queue_depth=2)
    server = await start_server(
        messages.register,
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    gateway = SmppGateway(SmppGatewaySettings(smpp_port=0), channel)
    try:
        port = await gateway.start()
        assert await asyncio.to_thread(_submit_statuses, port, 2) == [0, 0]
        await asyncio.sleep(1.1)  # the depth is counted at most once a second
        assert await asyncio.to_thread(_submit_statuses, port, 1) == [0x14]
    finally:
        await gateway.stop()
        await channel.close()
        await server.stop(0)
        await messages.close()
