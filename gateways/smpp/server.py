"""The SMPP 3.4 server partners (ESMEs) bind to; every message goes to core over gRPC.

Per connection one ``SmppSession`` (rcs_smpp) frames PDUs, answers enquire_link and unbind,
sends generic_nack for garbage, and throttles (0x58) a peer with more than
``RCS_SMPP_WINDOW`` requests in progress. This module adds the policies:

- bind_transmitter / bind_receiver / bind_transceiver: system_id and password are checked by
  core's AuthService (cached on success, gateways.partner_auth.PartnerAuth); a refusal answers
  the catalogue's SMPP status (0x0F unknown login, 0x0E wrong password, 0x0D address not
  allowed, 0x08 core down). A second bind on a session is 0x05; anything but bind before
  binding is 0x04, and so are submit_sm / query_sm on a receiver-only session.
- Sessions per login: the partner's ``max_smpp_sessions`` caps the sessions bound at once
  over every SMPP gateway process (SMPP_API 1.3); a transceiver is one session, a
  transmitter and a receiver two. After the credential check a bind takes a slot in core
  (gateways.smpp.session_slots): 0x05 beyond the limit (catalogue TOO_MANY_SESSIONS),
  0x08 when core is down; unbind gives it back before unbind_resp. submit_sm never
  touches any of this.
- submit_sm: data_coding 0 (GSM 03.38), 1, 3, 6, 7, 8 are text, and 0x10 / 0x18 / 0xF0
  (message class 0) a flash SMS; binary (2, 4, 0x14, 0xF4-0xF7) goes to core as octets
  with its data_coding and UDHI, its own header included. Text parts joined by UDH (8- or
  16-bit reference) or SAR TLVs become ONE message in core; binary parts go on one by one
  as messages with their own header (SAR TLVs turned into the concatenation header), so
  the handset joins them and other header elements (a WAP push's ports) survive, and each
  part has its own id and receipt. message_payload carries a whole message.
  schedule_delivery_time (absolute or relative; past means now) → send_after: the
  message waits in the queue until then (0x61 malformed, 0x62 not before the validity's
  end). validity_period →
  ttl, priority_flag → priority (3 counts as 2), registered_delivery → receipt request,
  Rapporto's ptag TLV (0x1411) is checked (0x0C when malformed) and stored. Refusals by
  core map through the error catalogue.
- Message ids: submit_sm_resp carries core's id (decimal). Core keeps one id per message,
  so every part of a concatenated message is answered with the id of the whole message,
  at once: each part goes to core's SubmitPart, which reserves the id with the first part,
  stores every part before it is answered and accepts the message with its last part
  (rcs_core.messages.concatenated). Parts that stop coming end as a REJECTED message (reported),
  so an id handed out always reaches a final status, whatever the ESME's window.
- Rate: ``RCS_SMPP_SUBMITS_PER_SECOND`` per login over all its sessions (token bucket,
  each submit_sm PDU counts); excess is answered 0x58 and not submitted.
- query_sm: core's GetMessage scoped to the bound login; message_state mapped from our
  status, final_date from the last status change, error_code our extended code. An id that
  is not a decimal number is 0x0C, an unknown one 0x67.
- Whole messages are coalesced into one SubmitMessages call per partner
  (gateways.coalescer).
- Receipts and MO: every submit_sm asks core for SMPP reports (registered_delivery decides which:
  none, every final status, failures only) and carries the ptag. Core stores each report
  until a receiver or transceiver session of the login took it; gateways.smpp.report_pump
  sends them as deliver_sm (mapping.receipt_of: Rapporto's Appendix B text and TLVs);
  subscribers' messages routed to the login come the same way (mapping.inbound_of).

- Rapporto's TLVs: cascade_order 0x1444 and the per-type cascade TLVs (mapping.cascade_of);
  the Viber TLVs 0x1433-0x1436 make the message (or the cascade's Viber links) Viber's
  (mapping.viber_of, SMPP_API.txt 4.2): bad values 0xC4, a Viber text over 1000 0x01, a
  Viber message split into parts or binary 0xC4 (send it whole, in message_payload).
  A plain text submit_sm (neither) of a login whose service type is not SMS
  (Partner.service_type, read at the bind) is a message of that type (mapping.service_of).

TODO (next slices of issue 4): data_sm / submit_multi / cancel_sm / replace_sm, and
Rapporto's schedule "interval in the subscriber's zone" form.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from gateways.auth_revision import AuthRevisionWatch
from gateways.coalescer import SubmitCoalescer
from gateways.partner_auth import PartnerAuth
from gateways.smpp.mapping import (
    RefusedError,
    binary_of,
    binary_part_of,
    cascade_of,
    error_code_of,
    final_date_of,
    has_viber_tlvs,
    message_state_of,
    priority_of,
    ptag_of,
    receipt_request_of,
    send_after_of,
    service_of,
    shapes_message,
    status_for_reason,
    text_of,
    ttl_of,
    viber_of,
)
from gateways.smpp.ratelimit import TokenBucket
from gateways.smpp.report_pump import PumpSettings, ReportPumps
from gateways.smpp.session_slots import SessionSlots, Slot
from gateways.smpp.settings import SmppGatewaySettings
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import (
    auth_service_pb2,
    auth_service_pb2_grpc,
    message_service_pb2_grpc,
    report_lease_service_pb2_grpc,
)
from rcs.core.v1 import message_service_pb2 as ms
from rcs_runtime.errors import RcsError
from rcs_runtime.grpc_client import catalogue_entry
from rcs_runtime.tls import server_context
from rcs_smpp.constants import INTERFACE_VERSION_34, CommandStatus, Tag
from rcs_smpp.encoding import is_binary, message_class
from rcs_smpp.pdu import (
    BIND_RESPONSES,
    BindReceiver,
    BindRequest,
    BindTransceiver,
    BindTransmitter,
    Pdu,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    make_response,
)
from rcs_smpp.reassembly import UserData, UserDataError, parse_user_data
from rcs_smpp.session import SmppSession
from rcs_smpp.tlv import Tlvs

log = logging.getLogger(__name__)
_S = CommandStatus
SYSTEM_ID = "RCS"
EXPIRE_EVERY_SECONDS = 1.0
_MODES = {
    BindTransmitter: auth_service_pb2.SMPP_BIND_MODE_TRANSMITTER,
    BindReceiver: auth_service_pb2.SMPP_BIND_MODE_RECEIVER,
    BindTransceiver: auth_service_pb2.SMPP_BIND_MODE_TRANSCEIVER,
}


@dataclass(eq=False)  # identity: one per connection
class _Esme:
    remote_ip: str
    session: SmppSession | None = None
    login: str = ""
    transmits: bool = False
    receives: bool = False
    binding: bool = False
    slot: Slot | None = None  # its session slot in core, from the bind's claim
    credential_tag: str = ""  # what core said of the password at the bind
    service_type: str = "SMS"  # the login's (Partner.service_type) at the bind

    @property
    def bound(self) -> bool:
        return self.transmits or self.receives


class SmppGateway:
    def __init__(
        self,
        settings: SmppGatewaySettings,
        channel: grpc.aio.Channel,
        *,
        clock: Callable[[], float] = time.monotonic,
        gateway_id: str = "",
        reports_channel: grpc.aio.Channel | None = None,
    ) -> None:
        """``gateway_id``: this process's name for the session slots it holds in core;
        by default host:pid:random. ``reports_channel``: the core that receipts and MO are
        leased from, by default ``channel``'s."""
        self.s = settings
        self._clock = clock
        core_auth: auth_service_pb2_grpc.AuthServiceAsyncStub = (
            auth_service_pb2_grpc.AuthServiceStub(channel)
        )
        self.slots = SessionSlots(
            core_auth,
            gateway_id or f"{socket.gethostname()[:150]}:{os.getpid()}:{secrets.token_hex(4)}",
            lease_seconds=settings.smpp_session_lease_seconds,
            timeout_seconds=settings.rpc_timeout_seconds,
        )
        self.gateway_id = self.slots.gateway_id
        self._auth = PartnerAuth(
            core_auth,
            cache_seconds=settings.auth_cache_seconds,
            timeout_seconds=settings.rpc_timeout_seconds,
            smpp=True,
        )
        self._messages: message_service_pb2_grpc.MessageServiceAsyncStub = (
            message_service_pb2_grpc.MessageServiceStub(channel)
        )
        self._coalescer = SubmitCoalescer(
            self._messages,
            max_batch=settings.smpp_batch_max,
            max_in_flight=settings.smpp_batch_in_flight,
            timeout=settings.rpc_timeout_seconds,
        )
        self._pumps = ReportPumps(
            report_lease_service_pb2_grpc.ReportLeaseServiceStub(reports_channel or channel),
            PumpSettings(
                batch=settings.smpp_receipt_batch,
                wait_seconds=settings.smpp_receipt_wait_seconds,
                lease_seconds=settings.smpp_receipt_lease_seconds,
                rpc_timeout_seconds=settings.rpc_timeout_seconds,
            ),
        )
        self._buckets: dict[str, TokenBucket] = {}
        self._sessions: set[SmppSession] = set()
        self._esmes: dict[SmppSession, _Esme] = {}
        self._unbinding: set[asyncio.Task[None]] = set()
        self._core_auth = core_auth
        # A changed password or allowlist applies at once: cached logins are dropped and
        # bound sessions checked again (issue 14).
        self.auth_watch = AuthRevisionWatch(
            core_auth,
            poll_seconds=settings.auth_revision_poll_seconds,
            timeout_seconds=settings.rpc_timeout_seconds,
        )
        self.auth_watch.on_change(self._auth.forget_all)
        self.auth_watch.on_change(self.check_sessions)
        self._server: asyncio.Server | None = None
        self._tls_server: asyncio.Server | None = None
        self.tls_port = 0
        self._stopping = False

    async def start(self) -> int:
        """Listen on smpp_host:smpp_port, and with TLS on smpp_tls_port when set; returns
        the plain port (useful with port 0; ``tls_port`` is the other)."""
        self._server = await asyncio.start_server(
            self._on_connection, self.s.smpp_host, self.s.smpp_port
        )
        port = int(self._server.sockets[0].getsockname()[1])
        if self.s.smpp_tls_port:
            context = server_context(
                self.s.smpp_tls_cert, self.s.smpp_tls_key, self.s.smpp_tls_client_ca
            )
            self._tls_server = await asyncio.start_server(
                self._on_connection, self.s.smpp_host, self.s.smpp_tls_port, ssl=context
            )
            self.tls_port = int(self._tls_server.sockets[0].getsockname()[1])
            log.info("smpp_tls_listening", extra={"port": self.tls_port})
        self.slots.start()
        self.auth_watch.start()
        log.info("smpp_listening", extra={"port": port, "gateway_id": self.gateway_id})
        return port

    async def stop(self) -> None:
        self._stopping = True  # sessions closing now leave their slots to one release below
        await self.auth_watch.stop()
        if self._server is not None:
            self._server.close()
        if self._tls_server is not None:
            self._tls_server.close()
        for session in list(self._sessions):
            await session.close()
        await self.slots.stop()  # every slot at once: other gateways may take them now
        # Sessions are closed: pumps settle what they hold (released) and end.
        await self._pumps.close(grace_seconds=self.s.smpp_receipt_wait_seconds + 1)
        await self._coalescer.close()
        for server in (self._server, self._tls_server):
            if server is not None:
                await server.wait_closed()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        esme = _Esme(remote_ip=str(peer[0]) if peer else "")

        async def handler(pdu: Pdu) -> Pdu | None:
            return await self._handle(esme, pdu)

        session = SmppSession(
            reader,
            writer,
            handler,
            window=self.s.smpp_window,
            response_timeout=self.s.smpp_response_timeout_seconds,
            enquire_link_interval=self.s.smpp_enquire_link_seconds,
            max_concurrent_requests=self.s.smpp_window,
            name="smpp-gateway",
            # Freed before unbind_resp: an ESME that binds again at once finds the slot free.
            on_unbind=lambda: self.slots.release(esme.slot),
        )
        esme.session = session
        self._sessions.add(session)
        self._esmes[session] = esme
        session.start()
        try:
            await session.wait_closed()
        finally:
            self._sessions.discard(session)
            self._esmes.pop(session, None)
            if esme.receives:
                self._pumps.remove(esme.login, session)
            if esme.login:
                log.info("smpp_session_closed", extra={"login": esme.login})
            if not self._stopping:
                await self.slots.release(esme.slot)

    async def check_sessions(self) -> None:
        """Unbind the sessions whose login core would now refuse: the password changed
        since the bind, or the allowlist no longer takes the ESME's address."""
        bound = [e for e in self._esmes.values() if e.bound and e.slot is not None]
        if not bound:
            return
        answer = await self._core_auth.CheckSmppSessions(
            auth_service_pb2.CheckSmppSessionsRequest(
                sessions=[
                    auth_service_pb2.SmppSessionCredentials(
                        session_id=e.slot.session_id if e.slot else "",
                        login=e.login,
                        credential_tag=e.credential_tag,
                        remote_ip=e.remote_ip,
                    )
                    for e in bound
                ]
            ),
            timeout=self.s.rpc_timeout_seconds,
        )
        refused = {r.session_id: r.reason for r in answer.refused}
        for esme in bound:
            reason = refused.get(esme.slot.session_id if esme.slot else "")
            if reason is None or esme.session is None:
                continue
            log.warning(
                "smpp_session_revoked",
                extra={"login": esme.login, "ip": esme.remote_ip, "reason": reason},
            )
            esme.transmits = False  # no submit_sm is taken from it any more
            task = asyncio.create_task(esme.session.unbind(response_timeout=5.0))
            self._unbinding.add(task)
            task.add_done_callback(self._unbinding.discard)

    # -- requests -------------------------------------------------------------------------

    async def _handle(self, esme: _Esme, pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, BindRequest):
            return await self._bind(esme, pdu)
        if not esme.bound:
            return make_response(pdu, _S.ESME_RINVBNDSTS)
        if isinstance(pdu, SubmitSm):
            return await self._submit(esme, pdu)
        if isinstance(pdu, QuerySm):
            return await self._query(esme, pdu)
        return make_response(pdu, _S.ESME_RINVCMDID)

    async def _bind(self, esme: _Esme, pdu: BindRequest) -> Pdu:
        resp_type = BIND_RESPONSES[type(pdu)]
        if esme.bound or esme.binding:
            return resp_type(command_status=_S.ESME_RALYBND)
        esme.binding = True
        try:
            grant = await self._auth.grant(pdu.system_id, pdu.password, esme.remote_ip)
            esme.credential_tag = grant.credential_tag
            esme.service_type = grant.service_type
            esme.slot = self.slots.reserve(pdu.system_id, _MODES[type(pdu)])
            claim = await self.slots.claim(esme.slot)
        except RcsError as e:
            esme.slot = None
            log.info(
                "smpp_bind_refused",
                extra={"login": pdu.system_id, "ip": esme.remote_ip, "reason": e.reason},
            )
            return resp_type(command_status=e.entry.smpp_status)
        finally:
            esme.binding = False
        esme.login = pdu.system_id
        esme.transmits = not isinstance(pdu, BindReceiver)
        esme.receives = not isinstance(pdu, BindTransmitter)
        log.info(
            "smpp_bound",
            extra={
                "login": esme.login,
                "ip": esme.remote_ip,
                "mode": type(pdu).__name__,
                "session_id": esme.slot.session_id if esme.slot else "",
                "bound_sessions": claim.bound_sessions,
                "max_sessions": claim.max_smpp_sessions,
            },
        )
        if esme.receives and esme.session is not None:
            self._pumps.add(
                esme.login, esme.session, standard_tlvs_only=grant.smpp_standard_tlvs_only
            )
        tlvs = Tlvs()
        tlvs.set_uint(Tag.SC_INTERFACE_VERSION, INTERFACE_VERSION_34, 1)
        return resp_type(system_id=SYSTEM_ID, tlvs=tlvs)

    async def _submit(self, esme: _Esme, pdu: SubmitSm) -> Pdu:
        if not esme.transmits:
            return make_response(pdu, _S.ESME_RINVBNDSTS)
        if not self._bucket(esme.login).take():
            return make_response(pdu, _S.ESME_RTHROTTLED)
        try:
            _check_part(pdu)
            submission = _submission_of(pdu)  # each field checked once, in the same order
            user_data = parse_user_data(pdu)
            part = user_data.part
            binary = is_binary(pdu.data_coding)
            shaped = shapes_message(pdu.tlvs)  # cascade_order or Viber TLVs
            if shaped:
                _check_viber(pdu, binary, part.total if part is not None else 1)
            if part is not None and part.total > 1 and not binary:
                return await self._submit_part(esme.login, submission, pdu, user_data)
            if binary:
                sms = submission.sms
                sms.payload, sms.data_coding, sms.esm_class = (
                    binary_of(pdu) if part is None else binary_part_of(pdu, part)
                )
                sms.flash = False  # a binary coding's class is its own business
            else:
                submission.sms.text = text_of(pdu.data_coding, user_data.payload)
                if shaped:
                    cascade_of(submission, pdu.tlvs, dt.datetime.now(dt.UTC))
                    viber_of(submission, pdu.tlvs)
                service_of(submission, pdu.tlvs, esme.service_type)
        except RefusedError as e:
            return make_response(pdu, e.status)
        except UserDataError:
            return make_response(pdu, _S.ESME_RSUBMITFAIL)
        try:
            result = await self._coalescer.submit(esme.login, submission)
        except RcsError as e:
            log.warning("smpp_submit_failed", extra={"login": esme.login, "reason": e.reason})
            return make_response(pdu, e.entry.smpp_status)
        return _response(result)

    async def _submit_part(
        self, login: str, submission: ms.MessageSubmission, pdu: SubmitSm, data: UserData
    ) -> Pdu:
        """One part of a message the ESME split: stored in core, answered with the whole
        message's id at once (core reserves it with the first part; see
        rcs_core.messages.concatenated)."""
        assert data.part is not None
        try:
            answer = await self._messages.SubmitPart(
                ms.SubmitPartRequest(
                    partner=login,
                    submission=submission,
                    reference=data.part.reference,
                    part_number=data.part.seqnum,
                    part_total=data.part.total,
                    data_coding=pdu.data_coding,
                    payload=data.payload,
                ),
                timeout=self.s.rpc_timeout_seconds,
            )
        except grpc.aio.AioRpcError as err:
            log.warning("smpp_part_failed", extra={"login": login, "code": str(err.code())})
            return make_response(pdu, catalogue_entry(err).smpp_status)
        return _response(answer.result)

    async def _query(self, esme: _Esme, pdu: QuerySm) -> Pdu:
        if not esme.transmits:
            return make_response(pdu, _S.ESME_RINVBNDSTS)
        if not (pdu.message_id.isascii() and pdu.message_id.isdigit()):
            return make_response(pdu, _S.ESME_RINVMSGID)
        try:
            answer = await self._messages.GetMessage(
                ms.GetMessageRequest(message_id=pdu.message_id, partner=esme.login),
                timeout=self.s.rpc_timeout_seconds,
            )
        except grpc.aio.AioRpcError as err:
            return make_response(pdu, catalogue_entry(err).smpp_status)
        message = answer.message
        return QuerySmResp(
            message_id=pdu.message_id,
            final_date=final_date_of(message),
            message_state=message_state_of(message.status),
            error_code=error_code_of(message),
        )

    def _bucket(self, login: str) -> TokenBucket:
        rate = self.s.smpp_submits_per_second
        if not rate:
            return _UNLIMITED
        bucket = self._buckets.get(login)
        if bucket is None:
            bucket = self._buckets[login] = TokenBucket(rate, clock=self._clock)
        return bucket


class _Unlimited(TokenBucket):
    def __init__(self) -> None:
        super().__init__(1.0)

    def take(self) -> bool:
        return True


_UNLIMITED = _Unlimited()


def _response(result: ms.SubmitResult) -> SubmitSmResp:
    if result.HasField("error"):
        return SubmitSmResp(command_status=status_for_reason(result.error.reason))
    return SubmitSmResp(message_id=result.message_id)


def _submission_of(pdu: SubmitSm) -> ms.MessageSubmission:
    """The message fields of a submit_sm, without its text; RefusedError for a bad one
    (priority 0x06, registered_delivery 0x07, validity 0x62, schedule 0x61 / 0x62, ptag
    0x0C, in that order)."""
    priority = priority_of(pdu.priority_flag)
    receipt_request = receipt_request_of(pdu.registered_delivery)
    now = dt.datetime.now(dt.UTC)
    ttl = ttl_of(pdu.validity_period, now)
    send_after = send_after_of(pdu.schedule_delivery_time, now, ttl)
    submission = ms.MessageSubmission(
        destination=pdu.destination_addr,
        channel=channel_pb2.CHANNEL_SMS,
        # Message class 0 in data_coding (0x10, 0x18, 0xF0): a flash SMS.
        sms=message_pb2.SmsContent(
            sender=pdu.source_addr, flash=message_class(pdu.data_coding) == 0
        ),
        priority=priority,
        receipt_request=receipt_request,
        report_format=ms.REPORT_FORMAT_SMPP,
        ptag=ptag_of(pdu.tlvs) or "",
    )
    if ttl:
        submission.ttl.seconds = ttl
    if send_after is not None:
        submission.send_after.FromDatetime(send_after.astimezone(dt.UTC))
    return submission


def _check_part(pdu: SubmitSm) -> None:
    """Refusals of a PDU's framing of the message; its fields are checked by
    _submission_of."""
    if pdu.short_message and pdu.tlvs.message_payload is not None:
        raise RefusedError(_S.ESME_RSUBMITFAIL, "short_message and message_payload together")


def _check_viber(pdu: SubmitSm, binary: bool, parts: int) -> None:
    """A Viber message (its TLVs given) is one text: 0xC4 for binary data or a part."""
    if has_viber_tlvs(pdu.tlvs) and (binary or parts > 1):
        raise RefusedError(
            _S.ESME_RINVOPTPARAMVAL,
            "a Viber message is one text of at most 1000 characters: send it whole, in"
            " message_payload when it is over 254 octets, with a text data_coding",
        )
