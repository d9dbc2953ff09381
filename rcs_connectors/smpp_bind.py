"""One operator interface: a bind_transceiver kept up, submits within the window, receipts.

Reconnects with exponential backoff; pauses submits after 0x58 throttled / 0x14 queue full;
answers every deliver_sm only after its receipt is stored by core (see ReceiptSink).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import zlib

from google.protobuf import timestamp_pb2
from prometheus_client import Counter, Gauge

from rcs.common.v1 import message_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.core.v1 import message_service_pb2
from rcs_connectors.classify import SubmitVerdict, backs_off_bind, classify_submit, receipt_status
from rcs_connectors.interfaces import SmppInterface
from rcs_connectors.receipt_sink import ReceiptSink
from rcs_connectors.settings import ConnectorSettings
from rcs_runtime.errors import CATALOGUE, Reason
from rcs_smpp.constants import CommandStatus, EsmClass
from rcs_smpp.encoding import flash_coding
from rcs_smpp.errors import SmppError
from rcs_smpp.pdu import BindTransceiver, DeliverSm, DeliverSmResp, Pdu, SubmitSm, make_response
from rcs_smpp.reassembly import UserDataError, parse_user_data
from rcs_smpp.receipts import ReceiptError, is_receipt, parse_receipt_pdu
from rcs_smpp.segmentation import (
    Segment,
    SegmentationError,
    fits_with_own_header,
    split_payload,
    split_text,
)
from rcs_smpp.session import SmppSession

log = logging.getLogger(__name__)
BOUND = Gauge("rcs_connector_bound", "1 when the interface is bound", ["interface"])
SUBMITS = Counter("rcs_connector_submits_total", "submit_sm by result", ["interface", "result"])

# Details of a "retry" the bind gives without an SMSC status: no bind came up within the
# wait; the bind pauses after 0x58/0x14 for longer than a submit may wait; a part got no
# submit_sm_resp (response timeout, or the connection went away mid-submit).
NOT_BOUND = "not_bound"
PAUSED = "throttled"
NO_RESPONSE = "no_response"
# A submit waits out a pause after throttling up to this long; a longer one answers PAUSED.
_MAX_PAUSE_WAIT = 2.0
# A receipt or MO we cannot read gets the catalogue's deliver_sm answer for an invalid
# request (0x65: redelivering it unchanged cannot help).
_UNREADABLE = CATALOGUE[Reason.INVALID_REQUEST].deliver_sm
# SMSC statuses that speak of the SMSC or the link, not of the message.
_PATH_STATUSES = frozenset(
    {
        int(CommandStatus.ESME_RTHROTTLED),  # 0x58: over the account's rate
        int(CommandStatus.ESME_RMSGQFUL),  # 0x14: the SMSC's queue is full
        int(CommandStatus.ESME_RSYSERR),  # 0x08: system error
        int(CommandStatus.ESME_RSUBMITFAIL),  # 0x45: what most SMSCs answer when in trouble
    }
)


def is_transport_failure(result: cs.SendResult) -> bool:
    """Whether a result says this interface cannot take traffic now — so failover moves the
    message to the route's next interface and the interface's circuit breaker counts it.

    Every other answer is about the message, and another interface would fare no better:
    ACCEPTED and REJECTED (the SMSC refused this message for good: the bind works). Among
    the "retry" answers, the ones without a command_status come from the bind itself (not
    bound, paused after throttling, no response / connection lost — all transport), and
    the SMSC statuses in _PATH_STATUSES say the SMSC is overloaded or broken. A temporary
    status outside that set (0x64 ESME_RX_T_APPN: "this PDU, not now") or a future "retry"
    detail is left to the dispatcher's retry on the routed interface, and does not trip
    the breaker.
    """
    if result.outcome != cs.SEND_OUTCOME_RETRY:
        return False
    if result.command_status:
        return result.command_status in _PATH_STATUSES
    return result.detail in (NOT_BOUND, PAUSED, NO_RESPONSE)


def _segments(sms: message_pb2.SmsContent, reference: int) -> tuple[int, list[Segment]]:
    """(data_coding, segments) of a text, or of a binary SMS's octets: one PDU as they are
    when they carry the partner's own header (UDHI), else split and joined by a UDH."""
    if not sms.payload:
        return split_text(sms.text, reference=reference)
    if sms.esm_class & EsmClass.UDHI:
        if not fits_with_own_header(sms.payload):
            raise SegmentationError("a binary SMS with its own header must fit one SMS")
        return sms.data_coding, [Segment(sms.payload)]
    return sms.data_coding, split_payload(sms.data_coding, sms.payload, reference=reference)


def validity_period(valid_until: dt.datetime) -> str:
    """SMPP absolute time format YYMMDDhhmmsstnnp, in UTC."""
    return valid_until.astimezone(dt.UTC).strftime("%y%m%d%H%M%S") + "000+"


def concat_reference(message_id: str) -> int:
    """The concatenation reference (1-255) of a message's parts: the same at every attempt,
    so parts sent in a retry join those an earlier attempt got accepted."""
    number = int(message_id) if message_id.isdigit() else zlib.crc32(message_id.encode())
    return number % 255 + 1


def source_address(sender: str) -> tuple[int, int, str]:
    """(ton, npi, addr): digits are an international number, anything else alphanumeric."""
    if sender.isdigit() and len(sender) > 6:
        return 1, 1, sender
    if sender.isdigit():
        return 3, 0, sender  # short code: network specific
    return 5, 0, sender


class OperatorBind:
    def __init__(self, iface: SmppInterface, s: ConnectorSettings, sink: ReceiptSink) -> None:
        self.iface = iface
        self._s = s
        self._sink = sink
        self._session: SmppSession | None = None
        self._bound = asyncio.Event()
        self._paused_until = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"bind-{self.iface.id}")

    async def stop(self) -> None:
        """Unbind (when bound) and wait for unbind_resp, then stop reconnecting. The unbind
        goes first: cancelling the task closes the session without one."""
        self._stopping = True
        session = self._session
        if session is not None and not session.closed and self._bound.is_set():
            await session.unbind(2)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def receipt_scope(self) -> str:
        """Binds of one SMSC account share receipts: the SMSC may deliver a receipt to any
        receiver bound with that system_id, whichever interface submitted the message."""
        return f"{self.iface.host}:{self.iface.port}:{self.iface.system_id}"

    @property
    def bound(self) -> bool:
        return self._bound.is_set()

    @property
    def longest_submit_seconds(self) -> float:
        """How long a submit on a bound bind can take at most (pause, then no response)."""
        return _MAX_PAUSE_WAIT + self._s.connector_response_timeout_seconds

    async def wait_bound(self) -> None:
        """Returns once the bind is up (at once if it is)."""
        await self._bound.wait()

    async def _run(self) -> None:
        delay = self._s.connector_reconnect_min_seconds
        while not self._stopping:
            try:
                await self._connect_and_serve()
                delay = self._s.connector_reconnect_min_seconds
            except (OSError, SmppError, TimeoutError) as err:
                log.warning(
                    "bind_failed", extra={"interface": self.iface.id, "error": str(err)[:200]}
                )
            finally:
                self._bound.clear()
                BOUND.labels(self.iface.id).set(0)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self._s.connector_reconnect_max_seconds)

    async def _connect_and_serve(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.iface.host, self.iface.port), 10
        )
        session = SmppSession(
            reader,
            writer,
            self._on_request,
            window=self.iface.window,
            response_timeout=self._s.connector_response_timeout_seconds,
            enquire_link_interval=self._s.connector_enquire_link_seconds,
            name=f"bind-{self.iface.id}",
        )
        session.start()
        self._session = session
        try:
            resp = await session.send_request(
                BindTransceiver(
                    system_id=self.iface.system_id,
                    password=self.iface.password,
                    system_type=self.iface.system_type,
                ),
                10,
            )
            if resp.command_status != 0:
                raise SmppError(f"bind refused with status 0x{resp.command_status:02X}")
            self._bound.set()
            BOUND.labels(self.iface.id).set(1)
            log.info("bound", extra={"interface": self.iface.id})
            await session.wait_closed()
            if not self._stopping:
                log.warning("bind_lost", extra={"interface": self.iface.id})
        finally:
            await session.close()

    # -- receipts and MO from the operator ------------------------------------------------

    async def _on_request(self, pdu: Pdu) -> Pdu | None:
        if not isinstance(pdu, DeliverSm):
            return make_response(pdu, CommandStatus.ESME_RINVCMDID)
        if not is_receipt(pdu.esm_class):
            return await self._on_inbound(pdu)
        try:
            receipt = parse_receipt_pdu(pdu)
        except ReceiptError:
            return make_response(pdu, _UNREADABLE)
        status, error_code = receipt_status(receipt.stat, receipt.message_state, receipt.err)
        if status == 0:
            return DeliverSmResp()  # intermediate (ENROUTE, ACCEPTD): nothing to record
        done = timestamp_pb2.Timestamp()
        if receipt.done_date is not None:
            done.FromDatetime(receipt.done_date.replace(tzinfo=dt.UTC))
        answer = await self._sink.record(
            message_service_pb2.Receipt(
                interface_id=self.receipt_scope,
                operator_message_id=receipt.raw_message_id,
                status=status,  # type: ignore[arg-type]
                error_code=error_code,
                done_time=done,
                operator_state=receipt.stat,
            )
        )
        return make_response(pdu, answer) if answer else DeliverSmResp()

    async def _on_inbound(self, pdu: DeliverSm) -> Pdu:
        """A subscriber's message (or one part of it): acknowledged once core stored it, 0x64
        (the operator redelivers) when core could not be reached."""
        try:
            data = parse_user_data(pdu)
        except UserDataError:
            return make_response(pdu, _UNREADABLE)
        received = timestamp_pb2.Timestamp()
        received.GetCurrentTime()
        part = message_service_pb2.InboundPart(
            interface_id=self.receipt_scope,
            source=pdu.source_addr,
            destination=pdu.destination_addr,
            data_coding=pdu.data_coding,
            payload=data.payload,
            receive_time=received,
        )
        if data.part is not None and data.part.total > 1:
            part.reference = data.part.reference
            part.part_number = data.part.seqnum
            part.part_total = data.part.total
        answer = await self._sink.record_inbound(part)
        return make_response(pdu, answer) if answer else DeliverSmResp()

    # -- submits ----------------------------------------------------------------------------

    async def submit(self, m: cs.OutboundMessage) -> cs.SendResult:
        if not self._bound.is_set():
            try:
                await asyncio.wait_for(self._bound.wait(), 2)
            except TimeoutError:
                return cs.SendResult(
                    message_id=m.message_id, outcome=cs.SEND_OUTCOME_RETRY, detail=NOT_BOUND
                )
        pause = self._paused_until - asyncio.get_running_loop().time()
        if pause > 0:
            if pause > _MAX_PAUSE_WAIT:
                return cs.SendResult(
                    message_id=m.message_id, outcome=cs.SEND_OUTCOME_RETRY, detail=PAUSED
                )
            await asyncio.sleep(pause)
        try:
            data_coding, segments = _segments(m.sms, concat_reference(m.message_id))
        except (SegmentationError, ValueError):
            return cs.SendResult(
                message_id=m.message_id,
                outcome=cs.SEND_OUTCOME_REJECTED,
                error_code=4,
                detail="cannot_encode",
            )
        if m.sms.flash:  # message class 0: the same octets, the class in data_coding
            data_coding = flash_coding(data_coding)
        ton, npi, source = source_address(m.sms.sender)
        validity = validity_period(m.valid_until.ToDatetime(dt.UTC))
        session = self._session
        assert session is not None
        done = set(m.sent_parts) if m.sent_parts_of == len(segments) else set()
        if m.sent_parts and not done:
            log.warning(
                "parts_split_otherwise",
                extra={"message_id": m.message_id, "parts": len(segments), "was": m.sent_parts_of},
            )
        todo = [(n, seg) for n, seg in enumerate(segments, start=1) if n not in done]
        pdus = [
            SubmitSm(
                source_addr_ton=ton,
                source_addr_npi=npi,
                source_addr=source,
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr=m.destination,
                esm_class=seg.esm_class | (m.sms.esm_class if m.sms.payload else 0),
                validity_period=validity,
                registered_delivery=1 if m.receipt_wanted else 0,
                data_coding=data_coding,
                short_message=seg.short_message,
                tlvs=seg.tlvs,
            )
            for _, seg in todo
        ]
        results = await asyncio.gather(
            *(session.send_request(p) for p in pdus), return_exceptions=True
        )
        ids: list[str] = []
        numbers: list[int] = []
        worst: tuple[SubmitVerdict, int, int] = (SubmitVerdict.ACCEPTED, 0, 0)
        for (number, _), r in zip(todo, results, strict=True):
            if isinstance(r, BaseException):
                SUBMITS.labels(self.iface.id, "no_response").inc()
                worst = max(worst, (SubmitVerdict.RETRY, 0, 0), key=_severity)
                continue
            verdict, code = classify_submit(r.command_status)
            SUBMITS.labels(self.iface.id, verdict.value).inc()
            if backs_off_bind(r.command_status):
                self._paused_until = (
                    asyncio.get_running_loop().time() + self._s.connector_throttle_pause_seconds
                )
            if verdict is SubmitVerdict.ACCEPTED:
                ids.append(getattr(r, "message_id", ""))
                numbers.append(number)
            worst = max(worst, (verdict, code, r.command_status), key=_severity)
        verdict, code, status = worst
        result = cs.SendResult(message_id=m.message_id, outcome=_OUTCOMES[verdict])
        if verdict is not SubmitVerdict.ACCEPTED:
            result.command_status = status
            result.error_code = code
            result.detail = f"submit_status_0x{status:02X}" if status else NO_RESPONSE
        if verdict is not SubmitVerdict.REJECTED:
            # Every part, or (to retry) those accepted now: only the others go again.
            result.operator_message_ids.extend(ids)
            result.part_numbers.extend(numbers)
            result.part_count = len(segments)
            if ids or verdict is SubmitVerdict.ACCEPTED:
                result.receipt_scope = self.receipt_scope
        return result


_OUTCOMES = {
    SubmitVerdict.ACCEPTED: cs.SEND_OUTCOME_ACCEPTED,
    SubmitVerdict.RETRY: cs.SEND_OUTCOME_RETRY,
    SubmitVerdict.REJECTED: cs.SEND_OUTCOME_REJECTED,
}


def _severity(v: tuple[SubmitVerdict, int, int]) -> int:
    """A rejected part rejects the message; a part to retry retries it."""
    return {SubmitVerdict.ACCEPTED: 0, SubmitVerdict.RETRY: 1, SubmitVerdict.REJECTED: 2}[v[0]]
