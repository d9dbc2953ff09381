"""Interop: our operator connector against an SMSC that is not ours — npm `smpp` (node-smpp),
run as scripts/interop/npm-smsc/smsc.js on a real socket.

Core, dispatcher, routing and the connector run as their own processes (as in tests/e2e); the
demo operator's interface points at the node SMSC. Messages go in through core's gRPC API and
must come back final from node-smpp's deliver_sm receipts (Appendix B text, no TLVs): stat
DELIVRD → DELIVERED, stat UNDELIV err:008 (destinations ending in 0) → UNDELIVERED code 8.
What node-smpp received is checked from the JSON lines smsc.js prints for every submit_sm:
the raw short_message octets and node-smpp's own decoding of them (UDH and text).

Needs node and `scripts/test-services.sh up` (which runs scripts/interop/npm-smsc/install.sh).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest

from rcs.common.v1 import channel_pb2, message_pb2, status_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from tests.e2e.installation import FINAL, Installation
from tests.support import seed_demo

pytestmark = pytest.mark.e2e

SMSC_DIR = Path(__file__).resolve().parents[2] / "scripts" / "interop" / "npm-smsc"
SYSTEM_ID = "rcs-interop"  # what the interface row and smsc.js agree on
PASSWORD = "n0de-pw"
Event = dict[str, Any]

# A short GSM 03.38 text with characters of the extension table (sent as ESC + char).
SHORT_TEXT = "Hi from RCS via node-smpp: {ok} [1] ~ 10€ @home"
# 66 UTF-16 units, then an emoji (a surrogate pair at units 66-67): a naive cut of the first
# 67-unit part (140 octets - 6 of UDH) would split it. 154 units: parts of 66, 67 and 21.
_HEAD = "Длинное сообщение через node-smpp: проверка UDH и UCS-2, часть 1 —"
LONG_TEXT = (
    _HEAD
    + "🙂"
    + " Вторая и третья части идут следом; всё должно собраться обратно без потерь, до буквы."
)
LONG_PARTS = 3
DELIVERED_TO, FAILED_TO, LONG_TO = "79161234561", "79161234560", "79161234562"


@dataclass
class NodeSmsc:
    """smsc.js as a child process; every JSON line of its stdout lands in ``events``."""

    proc: asyncio.subprocess.Process
    port: int
    stderr_path: Path
    events: list[Event] = field(default_factory=list)

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e["event"] == kind]

    async def wait_for(self, what: str, check: Callable[[], bool], within: float) -> None:
        deadline = time.monotonic() + within
        while not check():
            if self.proc.returncode is not None or time.monotonic() > deadline:
                pytest.fail(f"node SMSC: no {what} in {within}s\n{self.diagnostics()}")
            await asyncio.sleep(0.05)

    def diagnostics(self) -> str:
        told = [e for e in self.events if e.get("event") != "enquire_link"][-40:]
        lines = "\n".join(json.dumps(e, ensure_ascii=False) for e in told)
        stderr = self.stderr_path.read_text(errors="replace")[-2000:]
        return f"exit: {self.proc.returncode}\nevents:\n{lines}\nstderr:\n{stderr}"


async def _read_events(smsc: NodeSmsc, stdout: asyncio.StreamReader) -> None:
    async for line in stdout:
        smsc.events.append(json.loads(line))


@pytest.fixture
async def node_smsc(tmp_path: Path) -> AsyncIterator[NodeSmsc]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the interop tests need Node.js and npm")
    if not (SMSC_DIR / "node_modules" / "smpp" / "package.json").is_file():
        pytest.fail(
            f"npm package smpp is not installed in {SMSC_DIR}: run `scripts/test-services.sh up`"
            " (or scripts/interop/npm-smsc/install.sh)"
        )
    stderr_path = tmp_path / "npm-smsc.stderr"
    with stderr_path.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            node,
            str(SMSC_DIR / "smsc.js"),
            "--port=0",
            f"--system-id={SYSTEM_ID}",
            f"--password={PASSWORD}",
            "--receipt-delay-ms=100",
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    assert proc.stdout is not None
    reader: asyncio.Task[None] | None = None
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 10)
        word, _, port = first.decode().partition(" ")
        if word != "listening":
            pytest.fail(f"smsc.js did not start: {first!r}\n{stderr_path.read_text()}")
        smsc = NodeSmsc(proc, int(port), stderr_path)
        reader = asyncio.create_task(_read_events(smsc, proc.stdout))
        yield smsc
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
        if reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await reader  # ends at EOF; a bad JSON line fails the test here


@pytest.fixture
async def installation(
    database_url: str, tmp_path: Path, node_smsc: NodeSmsc
) -> AsyncIterator[Installation]:
    """Core, dispatcher, routing and connector as processes; the demo partner routed to the
    node SMSC (the demo interface row re-pointed at it, with its credentials)."""
    inst = Installation(
        database_url,
        tmp_path / "logs",
        extra_env={"RCS_CONNECTOR_ENQUIRE_LINK_SECONDS": "0.5"},  # let node answer some
    )
    await seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=node_smsc.port)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(
            "UPDATE interfaces SET system_id = %s, password = %s WHERE id = 'smsc-sim'",
            (SYSTEM_ID, PASSWORD),
        )
        await conn.commit()
    try:
        yield inst
    finally:
        inst.stop()


def sms(destination: str, text: str) -> ms.MessageSubmission:
    return ms.MessageSubmission(
        destination=destination,
        channel=channel_pb2.CHANNEL_SMS,
        sms=message_pb2.SmsContent(text=text, sender="RCS"),
    )


async def final_messages(port: int, ids: list[str], within: float) -> list[Any]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = message_service_pb2_grpc.MessageServiceStub(channel)
        deadline = time.monotonic() + within
        while True:
            got = [(await stub.GetMessage(ms.GetMessageRequest(message_id=i))).message for i in ids]
            if all(m.status in FINAL for m in got) or time.monotonic() > deadline:
                return got
            await asyncio.sleep(0.1)


def split_udh(short_message: bytes) -> tuple[bytes, bytes]:
    """(UDH without its length octet, user data) of a short_message sent with UDHI."""
    length = short_message[0]
    return short_message[1 : 1 + length], short_message[1 + length :]


async def test_messages_through_node_smpp_end_delivered_or_undelivered(
    installation: Installation, node_smsc: NodeSmsc
) -> None:
    assert len(_HEAD) == 66
    assert len(LONG_TEXT.encode("utf-16-be")) == 154 * 2
    installation.start("routing", "connector", "core", "dispatcher")
    installation.wait_ready(smsc=False)
    await node_smsc.wait_for("bind", lambda: bool(node_smsc.of("bind")), 15)
    assert node_smsc.of("bind") == [{"event": "bind", "system_id": SYSTEM_ID, "status": 0}]

    async with grpc.aio.insecure_channel(f"127.0.0.1:{installation.ports['core']}") as channel:
        stub = message_service_pb2_grpc.MessageServiceStub(channel)
        resp = await stub.SubmitMessages(
            ms.SubmitMessagesRequest(
                partner="demo",
                messages=[
                    sms(DELIVERED_TO, SHORT_TEXT),
                    sms(FAILED_TO, "this one is not delivered"),
                    sms(LONG_TO, LONG_TEXT),
                ],
            )
        )
    ids = [r.message_id for r in resp.results]
    assert all(ids), resp
    short, failed, long = await final_messages(installation.ports["core"], ids, 30)
    context = f"{installation.logs()}\n--- node SMSC\n{node_smsc.diagnostics()}"

    # Final statuses in core, from node-smpp's receipts.
    assert (short.status, short.error_code) == (status_pb2.MESSAGE_STATUS_DELIVERED, 0), context
    assert (failed.status, failed.error_code) == (status_pb2.MESSAGE_STATUS_UNDELIVERED, 8), context
    assert (long.status, long.error_code) == (status_pb2.MESSAGE_STATUS_DELIVERED, 0), context
    assert long.part_count == LONG_PARTS
    for message in (short, long):
        assert [h.status for h in message.history] == [
            status_pb2.MESSAGE_STATUS_ACCEPTED,
            status_pb2.MESSAGE_STATUS_SENT,
            status_pb2.MESSAGE_STATUS_DELIVERED,
        ]

    # What node-smpp received: one submit_sm per part, each with a receipt requested.
    submits = node_smsc.of("submit_sm")
    by_destination: dict[str, list[Event]] = {}
    for s in submits:
        by_destination.setdefault(s["destination"], []).append(s)
    assert {d: len(s) for d, s in by_destination.items()} == {
        DELIVERED_TO: 1,
        FAILED_TO: 1,
        LONG_TO: LONG_PARTS,
    }
    for s in submits:
        assert (s["source"], s["source_ton"], s["source_npi"]) == ("RCS", 5, 0)
        assert (s["dest_ton"], s["dest_npi"], s["registered_delivery"]) == (1, 1, 1)

    # The GSM text: data_coding 0, no UDH, and node-smpp's GSM 03.38 decoding gives it back.
    (gsm,) = by_destination[DELIVERED_TO]
    assert (gsm["data_coding"], gsm["esm_class"], gsm["udh"]) == (0, 0, [])
    assert gsm["text"] == SHORT_TEXT
    escaped = sum(c in "^{}\\[~]|€" for c in SHORT_TEXT)  # ESC + char each: 2 octets
    assert len(bytes.fromhex(gsm["short_message"])) == len(SHORT_TEXT) + escaped == 53

    # The UCS-2 text: UDHI parts with one IEI 0x00 concatenation header each, in order, no
    # surrogate pair cut in two, reassembling to the text — read both from the raw octets
    # and by node-smpp itself.
    parts = by_destination[LONG_TO]
    split = [split_udh(bytes.fromhex(p["short_message"])) for p in parts]
    headers, payloads = [h for h, _ in split], [d for _, d in split]
    reference = headers[0][2]
    assert headers == [bytes((0x00, 3, reference, LONG_PARTS, n)) for n in (1, 2, 3)]
    for part, header, payload in zip(parts, headers, payloads, strict=True):
        assert (part["data_coding"], part["esm_class"]) == (8, 0x40)
        assert len(header) + 1 + len(payload) <= 140
        payload.decode("utf-16-be", errors="strict")  # each part valid UTF-16 on its own
        assert part["udh"] == [header.hex()]
    assert len(payloads[0]) == 66 * 2  # the emoji moved whole into part 2
    assert b"".join(payloads).decode("utf-16-be") == LONG_TEXT
    assert "".join(p["text"] for p in parts) == LONG_TEXT

    # One receipt per part, each answered deliver_sm_resp 0 (sent once core stored it).
    receipts = node_smsc.of("deliver_sm")
    assert sorted(r["message_id"] for r in receipts) == sorted(s["message_id"] for s in submits)
    assert all(r["sent"] for r in receipts)
    await node_smsc.wait_for(
        "deliver_sm_resp for every receipt",
        lambda: len(node_smsc.of("deliver_sm_resp")) == len(receipts),
        10,
    )
    assert {r["status"] for r in node_smsc.of("deliver_sm_resp")} == {0}
    assert {r["stat"] for r in receipts if r["message_id"] in _ids_to(FAILED_TO, submits)} == {
        "UNDELIV"
    }

    # The link is kept with enquire_link (answered by node-smpp), and unbound at shutdown.
    await node_smsc.wait_for("enquire_link", lambda: bool(node_smsc.of("enquire_link")), 5)
    installation.stop()
    await node_smsc.wait_for(
        "unbind at connector shutdown", lambda: bool(node_smsc.of("unbind")), 10
    )
    assert len(node_smsc.of("bind")) == 1  # never rebound: the link held all along


def _ids_to(destination: str, submits: list[Event]) -> set[str]:
    return {s["message_id"] for s in submits if s["destination"] == destination}


async def test_wrong_password_is_refused_and_not_bound(
    installation: Installation, node_smsc: NodeSmsc, database_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute("UPDATE interfaces SET password = 'wrong' WHERE id = 'smsc-sim'")
        await conn.commit()
    installation.start("connector")
    await node_smsc.wait_for("second bind attempt", lambda: len(node_smsc.of("bind")) >= 2, 15)
    # ESME_RINVPASWD (0x0E) in a body-less bind_transceiver_resp: the connector retries.
    assert {(b["system_id"], b["status"]) for b in node_smsc.of("bind")} == {(SYSTEM_ID, 0x0E)}
    assert not node_smsc.of("submit_sm")
