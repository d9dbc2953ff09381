"""Interop: Kannel (Debian's bearerbox + smsbox) as an ESME of our SMPP gateway.

A whole installation runs as processes (as in tests/e2e: core, dispatcher, routing, the
operator connector, the SMSC simulator as operator, and ``rcs serve smpp``); Kannel's
bearerbox binds to the SMPP gateway as a transceiver with the login of a partner made here
(tests/interop/kannel.py writes its kannel.conf). Messages go in through Kannel's smsbox
sendsms HTTP interface, the way a Kannel user would send them:

(a) a short GSM 03.38 text (data_coding 0);
(b) a long Cyrillic text with coding=2: Kannel sends it as UCS-2 parts joined by UDH.
    Each must arrive in core as ONE message with exactly the original text;
(c) the simulator's receipt becomes our deliver_sm receipt (esm_class 4) to Kannel's
    transceiver session: Kannel must match it to what it sent and call the dlr-url with
    status 1 (delivered) and our message id (%F, the id of submit_sm_resp); enquire_link
    both ways keeps the one bind up.

What Kannel put on the wire is read back from the PDU dumps of its smsc log (log-level 0).
Kannel asks for a receipt on the first part of a long message only and keys it by that
part's submit_sm_resp id; with max-pending-submits = 1 it sends each part only after the
previous answer: the last test checks that this works too (every part answered at once
with the id of the whole message).

Needs Kannel (`scripts/test-services.sh up` installs the Debian package) and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import socket
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import psycopg
import pytest
import yarl
from aiohttp import ClientSession, ClientTimeout, web

from rcs.common.v1 import message_pb2, status_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from tests.conftest import free_port
from tests.e2e.installation import FINAL, Installation
from tests.interop.kannel import Kannel, LoggedPdu, installed
from tests.support import seed_demo

pytestmark = pytest.mark.e2e

LOGIN, PASSWORD = "kannel", "k4nnel-1"  # SMPP passwords are at most 8 characters
SENDER = "RCS"
UDHI = 0x40

SHORT_TO = "79161230001"
# GSM 03.38 with characters of its own (@ £ §) and of the extension table (ESC + char).
SHORT_TEXT = "Order #42 @ shop: £5 or 6€ {ok} [x] ~ ^_^ \\ | § ready at 10:30!"
LONG_TO = "79161230002"
# 159 characters, all in the BMP: 3 UCS-2 parts of at most 67 characters (134 octets + UDH).
LONG_TEXT = (
    "Здравствуйте! Ваш заказ №42 собран и ждёт вас в пункте выдачи на Тверской улице, "
    "дом 7. Срок хранения — пять дней. Это длинное сообщение Kannel делит на части."
)
LONG_PARTS = 3

SEND_WITHIN = 30.0  # seconds for a message to reach core and become final
RECEIPT_WITHIN = 20.0  # seconds more for Kannel to call the dlr-url


@dataclass
class DlrSink:
    """Kannel's dlr-url calls (smsbox → GET /dlr?...), query parameters of each."""

    port: int = 0
    calls: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append(dict(request.query))
        return web.Response(text="ok")

    def url(self, tag: str) -> str:
        # Kannel fills %d (DLR type: 1 delivered, 2 failed, 8 SMSC ack, 16 SMSC nack),
        # %F (the SMSC's message id), %A (the receipt's text), %p (the destination).
        return f"http://127.0.0.1:{self.port}/dlr?tag={tag}&status=%d&smscid=%F&answer=%A&to=%p"

    def of(self, tag: str) -> list[dict[str, str]]:
        return [c for c in self.calls if c.get("tag") == tag]


@dataclass
class Rig:
    installation: Installation
    kannel: Kannel
    dlr: DlrSink
    http: ClientSession

    def diagnostics(self) -> str:
        return (
            f"dlr-url calls: {self.dlr.calls}\n{self.kannel.tail()}\n"
            f"--- installation\n{self.installation.logs()}"
        )

    async def sendsms(self, tag: str, to: str, text: str, *, coding: int = 0) -> None:
        url = self.kannel.sendsms_url(
            {
                "from": SENDER,
                "to": to,
                "text": text,
                "coding": str(coding),  # 0: GSM 7-bit, 2: UCS-2
                "charset": "UTF-8",
                "dlr-mask": "3",  # 1 delivered + 2 failed
                "dlr-url": self.dlr.url(tag),
            }
        )
        # urlencode percent-encoded every value already: send the query as it is
        async with self.http.get(yarl.URL(url, encoded=True)) as resp:
            body = await resp.text()
        refused = f"sendsms {tag}: HTTP {resp.status} {body!r}\n{self.diagnostics()}"
        assert resp.status == 202, refused
        assert body.startswith("0: Accepted"), refused

    async def messages(self) -> list[message_pb2.Message]:
        """The partner's messages in core (newest first)."""
        async with grpc.aio.insecure_channel(
            f"127.0.0.1:{self.installation.ports['core']}"
        ) as channel:
            stub = message_service_pb2_grpc.MessageServiceStub(channel)
            listed = await stub.ListMessages(ms.ListMessagesRequest(partner=LOGIN, page_size=50))
            return list(listed.messages)

    async def wait_for(self, what: str, check: Callable[[], bool], within: float) -> None:
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {within}s\n{self.diagnostics()}")
            if self.kannel.dead():
                pytest.fail(f"Kannel {self.kannel.dead()} died\n{self.diagnostics()}")
            await asyncio.sleep(0.1)


async def _wait_listening(port: int, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {port}")
        await asyncio.sleep(0.1)


@dataclass(frozen=True)
class RigOptions:
    """What a test changes (``@pytest.mark.parametrize("rig", [...], indirect=True)``)."""

    max_pending_submits: int = 10  # Kannel's window of unanswered submit_sm


@pytest.fixture
async def rig(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Rig]:
    if not installed():
        pytest.fail("Kannel is not installed: run `scripts/test-services.sh up` (as root)")
    options = getattr(request, "param", RigOptions())
    assert isinstance(options, RigOptions)
    smpp_port = free_port()
    inst = Installation(
        database_url,
        tmp_path / "logs",
        extra_env={
            "RCS_SMPP_PORT": str(smpp_port),
            "RCS_SMPP_RECEIPT_WAIT_SECONDS": "1",
            # keepalives both ways within the test: ours after 1 s without traffic,
            # Kannel's every 2 s
            "RCS_SMPP_ENQUIRE_LINK_SECONDS": "1",
        },
    )
    await seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"])
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, LOGIN, PASSWORD, default_sender=SENDER)
        await conn.commit()

    dlr = DlrSink()
    app = web.Application()
    app.router.add_get("/dlr", dlr.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    dlr.port = free_port()
    await web.TCPSite(runner, "127.0.0.1", dlr.port).start()

    kannel = Kannel(
        tmp_path / "kannel",
        smpp_host="127.0.0.1",
        smpp_port=smpp_port,
        system_id=LOGIN,
        password=PASSWORD,
        max_messages=LONG_PARTS + 2,
        max_pending_submits=options.max_pending_submits,
        enquire_link_interval=2,
    )
    http = ClientSession(timeout=ClientTimeout(total=10))
    try:
        inst.start("routing", "simulator", "connector", "core", "dispatcher", "smpp")
        await asyncio.to_thread(inst.wait_ready)
        await _wait_listening(smpp_port, 20)
        try:
            await asyncio.to_thread(kannel.start, 30)
        except (RuntimeError, TimeoutError) as e:
            pytest.fail(f"{e}\n--- installation\n{inst.logs()}")
        yield Rig(inst, kannel, dlr, http)
    finally:
        await http.close()
        await asyncio.to_thread(kannel.stop)
        inst.stop()
        await runner.cleanup()


def _udh_and_text(pdu: LoggedPdu) -> tuple[bytes, bytes]:
    """(UDH without its length octet, user data) of a short_message sent with UDHI."""
    sm = pdu.octets["short_message"]
    return sm[1 : 1 + sm[0]], sm[1 + sm[0] :]


async def _send_short_and_long(rig: Rig) -> tuple[message_pb2.Message, message_pb2.Message]:
    """(a) and (b): both sent through sendsms, both in core as one final message each."""
    await rig.sendsms("short", SHORT_TO, SHORT_TEXT)
    await rig.sendsms("long", LONG_TO, LONG_TEXT, coding=2)
    found: list[message_pb2.Message] = []

    def both_final() -> bool:
        return len(found) >= 2 and all(m.status in FINAL for m in found)

    deadline = time.monotonic() + SEND_WITHIN
    while not both_final() and time.monotonic() < deadline:
        found[:] = await rig.messages()
        await asyncio.sleep(0.2)
    by_to = {m.destination: m for m in found}
    in_core = f"core has {[(m.destination, m.sms.text) for m in found]}\n{rig.diagnostics()}"
    assert len(found) == 2, in_core
    assert set(by_to) == {SHORT_TO, LONG_TO}, in_core
    return by_to[SHORT_TO], by_to[LONG_TO]


async def test_kannel_sendsms_arrives_in_core_whole(rig: Rig) -> None:
    short, long = await _send_short_and_long(rig)
    context = rig.diagnostics()
    # (a) the short GSM text, exactly
    assert short.sms.text == SHORT_TEXT, context
    assert short.sms.sender == SENDER, context
    assert short.part_count == 1, context
    # (b) Kannel's UCS-2 parts joined into one message with exactly the original text
    assert len(LONG_TEXT) == 159
    assert long.sms.text == LONG_TEXT, context
    assert long.sms.sender == SENDER, context
    assert long.part_count == LONG_PARTS, context  # our connector split it the same way
    for m in (short, long):
        assert m.status == status_pb2.MESSAGE_STATUS_DELIVERED, context
        assert m.receipt_request == message_pb2.RECEIPT_REQUEST_ALL, context  # dlr-mask 3

    # What Kannel put on the wire (its smsc log's PDU dumps): the short one as one GSM
    # submit_sm, the long one as LONG_PARTS UCS-2 submit_sm with UDH IEI 0 (8-bit reference).
    pdus = rig.kannel.smsc_pdus()
    submits = [p for p in pdus if p.direction == "sent" and p.type_name == "submit_sm"]
    (gsm,) = [p for p in submits if p.strings["destination_addr"] == SHORT_TO]
    assert gsm.ints["data_coding"] == 0, (gsm, context)
    assert not gsm.ints["esm_class"] & UDHI, (gsm, context)
    assert gsm.ints["registered_delivery"] == 1, (gsm, context)
    parts = [p for p in submits if p.strings["destination_addr"] == LONG_TO]
    assert len(parts) == LONG_PARTS, (parts, context)
    udhs, texts = zip(*(_udh_and_text(p) for p in parts), strict=True)
    reference = udhs[0][2]
    assert list(udhs) == [bytes([0, 3, reference, LONG_PARTS, n + 1]) for n in range(LONG_PARTS)]
    assert b"".join(texts).decode("utf-16-be") == LONG_TEXT, context
    for part in parts:
        assert part.ints["data_coding"] == 8, (part, context)
        assert part.ints["esm_class"] & UDHI, (part, context)
    # Kannel asks for a receipt on the first part only: that is the one we must honour
    assert [p.ints["registered_delivery"] for p in parts] == [1] + [0] * (LONG_PARTS - 1)

    # Every submit_sm answered ESME_ROK; each part with the id of the whole message.
    responses = {
        p.ints["sequence_number"]: p
        for p in pdus
        if p.direction == "received" and p.type_name == "submit_sm_resp"
    }
    for pdu, message_id in [(gsm, short.id)] + [(p, long.id) for p in parts]:
        resp = responses[pdu.ints["sequence_number"]]
        assert resp.ints["command_status"] == 0, (resp, context)
        assert resp.strings["message_id"] == message_id, (resp, context)
    status = rig.kannel.smsc()
    assert status is not None, context
    assert status.sms_sent == 2, (status, context)  # Kannel counts messages, not parts
    assert status.failed == 0, (status, context)
    # ...and the two messages went on to the operator (the simulator) as 1 + 3 submits
    stats = rig.installation.smsc_stats()
    assert stats["submits"] == 1 + LONG_PARTS, (stats, context)


async def test_kannel_gets_delivery_receipts(rig: Rig) -> None:
    """(c) our deliver_sm receipts reach Kannel's transceiver session and its dlr-url."""
    short, long = await _send_short_and_long(rig)
    ids = {"short": short.id, "long": long.id}
    assert all(m.status == status_pb2.MESSAGE_STATUS_DELIVERED for m in (short, long)), (
        rig.diagnostics()
    )

    def delivered(tag: str) -> bool:
        return any(c.get("status") == "1" for c in rig.dlr.of(tag))

    await rig.wait_for(
        "dlr-url call with status 1 for both messages",
        lambda: delivered("short") and delivered("long"),
        RECEIPT_WITHIN,
    )
    await asyncio.sleep(1)  # let any further (wrong) calls come in
    context = rig.diagnostics()
    for tag, message_id in ids.items():
        calls = rig.dlr.of(tag)
        assert [c["status"] for c in calls] == ["1"], (tag, context)  # no failure, one call
        (call,) = calls
        assert call["smscid"] == message_id, (tag, context)  # %F: our submit_sm_resp id
        assert call["to"] == (SHORT_TO if tag == "short" else LONG_TO), (tag, context)
        # %A is the receipt's text: Appendix B with our id and stat DELIVRD
        assert call["answer"].startswith(f"id:{message_id} "), (tag, context)
        assert "stat:DELIVRD" in call["answer"], (tag, context)

    # On the wire: one deliver_sm receipt per message (esm_class 4, receipted_message_id,
    # message_state 2 = DELIVERED), each answered ESME_ROK by Kannel.
    pdus = rig.kannel.smsc_pdus()
    receipts = [p for p in pdus if p.direction == "received" and p.type_name == "deliver_sm"]
    assert sorted(r.strings["receipted_message_id"] for r in receipts) == sorted(ids.values())
    for receipt in receipts:
        assert receipt.ints["esm_class"] == 4, (receipt, context)
        assert receipt.ints["message_state"] == 2, (receipt, context)
    answers = [p for p in pdus if p.direction == "sent" and p.type_name == "deliver_sm_resp"]
    assert [a.ints["command_status"] for a in answers] == [0] * len(receipts), context
    status = rig.kannel.smsc()
    assert status is not None, context
    assert status.dlr_received == 2, (status, context)

    # The transceiver session stays up: enquire_link each way, answered ESME_ROK, one bind.
    def answered(kind: str, request_by: str) -> bool:
        pdus = rig.kannel.smsc_pdus()
        response_by = "received" if request_by == "sent" else "sent"
        asked = {
            p.ints["sequence_number"]
            for p in pdus
            if p.direction == request_by and p.type_name == kind
        }
        return any(
            p.direction == response_by
            and p.type_name == f"{kind}_resp"
            and p.ints["command_status"] == 0
            and p.ints["sequence_number"] in asked
            for p in pdus
        )

    await rig.wait_for(
        "enquire_link from Kannel answered, and ours answered by Kannel",
        lambda: answered("enquire_link", "sent") and answered("enquire_link", "received"),
        10,
    )
    binds = [p for p in rig.kannel.smsc_pdus() if p.type_name == "bind_transceiver"]
    assert len(binds) == 1, rig.diagnostics()


@pytest.mark.parametrize("rig", [RigOptions(max_pending_submits=1)], indirect=True)
async def test_kannel_window_of_one_gets_the_long_messages_receipt(rig: Rig) -> None:
    """Kannel with max-pending-submits = 1 sends each part only after the previous part's
    submit_sm_resp, asks for the receipt on the first part only and keys it by that part's
    message_id. So every part must be answered at once, with the id of the whole message
    (an early part answered late or without an id stalls Kannel or loses the receipt)."""
    await rig.sendsms("long", LONG_TO, LONG_TEXT, coding=2)
    await rig.wait_for("dlr-url call with status 1", lambda: bool(rig.dlr.of("long")), SEND_WITHIN)
    await asyncio.sleep(0.5)  # let any further (wrong) calls come in
    context = rig.diagnostics()
    (message,) = await rig.messages()
    assert message.sms.text == LONG_TEXT, context
    assert message.status == status_pb2.MESSAGE_STATUS_DELIVERED, context
    pdus = rig.kannel.smsc_pdus()
    submits = [p for p in pdus if p.direction == "sent" and p.type_name == "submit_sm"]
    resps = [p for p in pdus if p.direction == "received" and p.type_name == "submit_sm_resp"]
    # one at a time: each part went out after the previous part's answer
    flow = [p.type_name for p in pdus if p in submits or p in resps]
    assert flow == ["submit_sm", "submit_sm_resp"] * LONG_PARTS, context
    assert len(resps) == LONG_PARTS, context
    assert [r.strings["message_id"] for r in resps] == [message.id] * LONG_PARTS, context
    assert [r.ints["command_status"] for r in resps] == [0] * LONG_PARTS, context
    calls = rig.dlr.of("long")
    assert [(c["status"], c["smscid"]) for c in calls] == [("1", message.id)], context


def test_sendsms_url_keeps_dlr_escapes() -> None:
    kannel = Kannel(Path("/nonexistent"), "127.0.0.1", 1, LOGIN, PASSWORD, sendsms_port=9)
    url = kannel.sendsms_url({"dlr-url": "http://h/dlr?a=1&s=%d&f=%F"})
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["dlr-url"] == ["http://h/dlr?a=1&s=%d&f=%F"]
    assert query["username"] == [kannel.sendsms_user]
