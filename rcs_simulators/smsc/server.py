"""The SMSC: SMPP 3.4 server side. Binds are checked against the configured credentials;
each submitted part gets an id and, after a random delay, a receipt with an outcome drawn
from the mix. Receipts go to any receiver/transceiver bound with that system_id — another
socket if the first is gone — and wait until one binds; a receipt answered with an error
(e.g. 0x64) is sent again later. With a journal (RCS_SMSC_STATE_FILE) the receipts owed
survive a restart; without one they are lost with the process."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rcs_simulators.smsc.journal import Owed, OwedJournal
from rcs_simulators.smsc.outcomes import OutcomeMix
from rcs_simulators.smsc.settings import SmscSettings
from rcs_smpp.constants import CommandStatus, MessageState
from rcs_smpp.pdu import (
    BIND_RESPONSES,
    BindReceiver,
    BindRequest,
    BindTransmitter,
    DeliverSm,
    Pdu,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    make_response,
)
from rcs_smpp.receipts import build_receipt_pdu
from rcs_smpp.segmentation import split_text
from rcs_smpp.session import SessionClosedError, SmppSession

log = logging.getLogger(__name__)
_S = CommandStatus
REDELIVER_SECONDS = 1.0
MAX_REMEMBERED = 1_000_000


@dataclass(eq=False)  # identity: one per connection
class _Client:
    session: SmppSession
    system_id: str = ""
    receives: bool = False
    transmits: bool = False
    window_start: float = 0.0
    window_count: int = 0


@dataclass
class Stats:
    binds: int = 0
    bind_failures: int = 0
    submits: int = 0
    throttled: int = 0
    receipts_sent: int = 0
    receipts_acked: int = 0
    receipts_refused: int = 0
    mo_sent: int = 0
    # 8-byte digest of (source, destination, data_coding, short_message) → times seen:
    # duplicates show here, at a fixed cost per part however long the run.
    seen: Counter[bytes] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "binds": self.binds,
            "bind_failures": self.bind_failures,
            "submits": self.submits,
            "unique_parts": len(self.seen),
            "duplicate_parts": sum(n - 1 for n in self.seen.values() if n > 1),
            "throttled": self.throttled,
            "receipts_sent": self.receipts_sent,
            "receipts_acked": self.receipts_acked,
            "receipts_refused": self.receipts_refused,
            "mo_sent": self.mo_sent,
            "outcomes": dict(self.outcomes),
        }


@dataclass
class _StoredMessage:
    submit: SubmitSm
    submitted_at: dt.datetime
    state: MessageState = MessageState.ENROUTE


class Smsc:
    def __init__(self, settings: SmscSettings) -> None:
        self.s = settings
        self.mix = OutcomeMix.parse(settings.smsc_outcomes)
        self.rng = random.Random(settings.smsc_seed or None)
        self.stats = Stats()
        self._clients: set[_Client] = set()
        self._ids = itertools.count(int(time.time()) % 100_000 * 10_000 + 1)
        self._messages: dict[str, _StoredMessage] = {}
        # Receipts (with the id they settle in the journal) and MO with no receiver bound
        # yet, per system_id.
        self._waiting: dict[str, deque[tuple[DeliverSm, str | None]]] = {}
        self._journal = (
            OwedJournal(Path(settings.smsc_state_file)) if settings.smsc_state_file else None
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(
            self._on_connection, self.s.smsc_host, self.s.smsc_port
        )
        port = int(self._server.sockets[0].getsockname()[1])
        log.info("smsc_listening", extra={"port": port})
        if self._journal is not None:
            owed = self._journal.load()
            for item in owed:
                self._restore(item)
            log.info("smsc_receipts_restored", extra={"owed": len(owed)})
        return port

    def _restore(self, item: Owed) -> None:
        """A receipt owed before a restart: sent after the usual delay, to whoever binds."""
        submit = SubmitSm(
            source_addr=item.source_addr,
            destination_addr=item.destination_addr,
            dest_addr_ton=item.dest_addr_ton,
            dest_addr_npi=item.dest_addr_npi,
            registered_delivery=1,
        )
        self._messages[item.message_id] = _StoredMessage(submit, item.submitted)
        self._spawn(self._deliver_receipt(item.system_id, item.message_id, item.receipt_id))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for client in list(self._clients):
            await client.session.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._journal is not None:
            self._journal.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        client: _Client | None = None

        async def handler(pdu: Pdu) -> Pdu | None:
            assert client is not None
            return await self._handle(client, pdu)

        session = SmppSession(reader, writer, handler, window=50, name="smsc")
        client = _Client(session)
        self._clients.add(client)
        session.start()
        try:
            await session.wait_closed()
        finally:
            self._clients.discard(client)

    # -- requests from ESMEs ----------------------------------------------------------------

    async def _handle(self, client: _Client, pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, BindRequest):
            return self._bind(client, pdu)
        if not (client.receives or client.transmits):
            return make_response(pdu, _S.ESME_RINVBNDSTS)
        if isinstance(pdu, SubmitSm):
            return self._submit(client, pdu)
        if isinstance(pdu, QuerySm):
            return self._query(pdu)
        return make_response(pdu, _S.ESME_RINVCMDID)

    def _bind(self, client: _Client, pdu: BindRequest) -> Pdu:
        resp_type = BIND_RESPONSES[type(pdu)]
        if client.receives or client.transmits:
            return resp_type(command_status=_S.ESME_RALYBND)
        if self.s.smsc_system_id and pdu.system_id != self.s.smsc_system_id:
            self.stats.bind_failures += 1
            return resp_type(command_status=_S.ESME_RINVSYSID)
        if self.s.smsc_system_id and pdu.password != self.s.smsc_password:
            self.stats.bind_failures += 1
            return resp_type(command_status=_S.ESME_RINVPASWD)
        client.system_id = pdu.system_id
        client.transmits = not isinstance(pdu, BindReceiver)
        client.receives = not isinstance(pdu, BindTransmitter)
        self.stats.binds += 1
        if client.receives:
            self._spawn(self._flush_waiting(pdu.system_id))
        return resp_type(system_id="rcs-smsc-sim")

    def _throttled(self, client: _Client) -> bool:
        limit = self.s.smsc_throttle_per_second
        if not limit:
            return False
        now = time.monotonic()
        if now - client.window_start >= 1.0:
            client.window_start, client.window_count = now, 0
        client.window_count += 1
        return client.window_count > limit

    def _submit(self, client: _Client, pdu: SubmitSm) -> Pdu:
        if not client.transmits:
            return make_response(pdu, _S.ESME_RINVBNDSTS)
        if self._throttled(client):
            self.stats.throttled += 1
            return make_response(pdu, _S.ESME_RTHROTTLED)
        if not pdu.destination_addr:
            return make_response(pdu, _S.ESME_RINVDSTADR)
        self.stats.submits += 1
        digest = hashlib.blake2b(digest_size=8)
        for item in (
            pdu.source_addr.encode(),
            pdu.destination_addr.encode(),
            bytes([pdu.data_coding]),
            pdu.short_message,
        ):
            digest.update(len(item).to_bytes(2, "big") + item)
        self.stats.seen[digest.digest()] += 1
        number = next(self._ids)
        message_id = format(number, "x") if self.s.smsc_id_format != "decimal" else str(number)
        now = dt.datetime.now(dt.UTC)
        self._messages[message_id] = _StoredMessage(pdu, now)
        if len(self._messages) > MAX_REMEMBERED:  # query_sm answers for the newest only
            del self._messages[next(iter(self._messages))]
        if pdu.registered_delivery & 0x03:
            # "mixed": the receipt spells the id in decimal although submit_sm_resp gave hex.
            receipt_id = str(number) if self.s.smsc_id_format == "mixed" else message_id
            if self._journal is not None:
                self._journal.owe(
                    Owed(
                        client.system_id,
                        message_id,
                        receipt_id,
                        pdu.source_addr,
                        pdu.destination_addr,
                        pdu.dest_addr_ton,
                        pdu.dest_addr_npi,
                        now.isoformat(),
                    )
                )
            self._spawn(self._deliver_receipt(client.system_id, message_id, receipt_id))
        return SubmitSmResp(message_id=message_id)

    def _query(self, pdu: QuerySm) -> Pdu:
        stored = self._messages.get(pdu.message_id)
        if stored is None:
            return QuerySmResp(command_status=_S.ESME_RQUERYFAIL)
        return QuerySmResp(message_id=pdu.message_id, message_state=stored.state)

    # -- receipts and MO --------------------------------------------------------------------

    async def _deliver_receipt(self, system_id: str, message_id: str, receipt_id: str) -> None:
        lo, hi = self.s.smsc_receipt_delay_min_ms, self.s.smsc_receipt_delay_max_ms
        await asyncio.sleep(self.rng.uniform(lo, hi) / 1000)
        stored = self._messages.get(message_id)
        if stored is None:
            return  # forgotten: more than MAX_REMEMBERED newer messages arrived meanwhile
        outcome = self.mix.pick(self.rng)
        self.stats.outcomes[outcome.kind] += 1
        stored.state = MessageState(outcome.message_state)
        submit = stored.submit
        receipt = build_receipt_pdu(
            source_addr=submit.destination_addr,
            destination_addr=submit.source_addr,
            message_id=receipt_id,
            state=stored.state,
            submit_date=stored.submitted_at,
            done_date=dt.datetime.now(dt.UTC),
            err=outcome.error_code,
            source_addr_ton=submit.dest_addr_ton,
            source_addr_npi=submit.dest_addr_npi,
        )
        await self._send_to_receiver(system_id, receipt, message_id)

    async def _send_to_receiver(
        self, system_id: str, pdu: DeliverSm, owed: str | None = None
    ) -> None:
        """Deliver to a bound receiver of system_id; keep it until one acknowledges it.
        ``owed``: the message id whose receipt this is, settled in the journal when taken."""
        while True:
            receivers = [
                c
                for c in self._clients
                if c.receives and c.system_id == system_id and not c.session.closed
            ]
            if not receivers:
                self._waiting.setdefault(system_id, deque()).append((pdu, owed))
                return
            client = self.rng.choice(receivers)
            try:
                resp = await client.session.send_request(pdu, 30)
            except (SessionClosedError, TimeoutError):
                continue
            self.stats.receipts_sent += 1
            if resp.command_status == 0:
                self.stats.receipts_acked += 1
                if owed is not None and self._journal is not None:
                    self._journal.paid(owed)
                return
            self.stats.receipts_refused += 1
            await asyncio.sleep(REDELIVER_SECONDS)

    async def _flush_waiting(self, system_id: str) -> None:
        waiting = self._waiting.pop(system_id, deque())
        await asyncio.gather(*(self._send_to_receiver(system_id, p, o) for p, o in waiting))

    async def send_mo(self, source: str, destination: str, text: str, system_id: str) -> None:
        """A subscriber's message; a long one as parts joined by UDH-8, as handsets send."""
        data_coding, segments = split_text(text, reference=self.rng.randrange(256))
        self.stats.mo_sent += 1
        for segment in segments:
            pdu = DeliverSm(
                source_addr_ton=1,
                source_addr_npi=1,
                source_addr=source,
                destination_addr=destination,
                esm_class=segment.esm_class,
                data_coding=data_coding,
                short_message=segment.short_message,
                tlvs=segment.tlvs,
            )
            await self._send_to_receiver(system_id or self.s.smsc_system_id, pdu)
