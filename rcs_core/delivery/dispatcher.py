"""Dispatcher: queue → routing → connector → recorded outcome.

Each worker claims a batch (FOR UPDATE SKIP LOCKED) and holds that transaction while
routing and the connector answer, then records every outcome in it and commits. A
worker killed mid-batch leaves nothing half-done: PostgreSQL rolls back and the rows
are claimed again. The cost is that messages the connector already handed to the
operator in that batch are sent again (see docs/invariants.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random

import grpc
import psycopg
from google.protobuf import timestamp_pb2
from opentelemetry import trace
from prometheus_client import Counter, Histogram
from psycopg_pool import AsyncConnectionPool

from rcs.common.v1 import message_pb2
from rcs.connector.v1 import connector_service_pb2, connector_service_pb2_grpc
from rcs.routing.v1 import routing_service_pb2, routing_service_pb2_grpc
from rcs_core.config import CoreSettings
from rcs_core.delivery import queue_store as dispatch
from rcs_core.delivery.messenger_routes import MessengerRoutes
from rcs_core.delivery.queue_store import Claimed, SentPart, SentParts
from rcs_core.messages.statuses import ExtendedError, Status
from rcs_core.messages.store import QUEUE_CHANNEL
from rcs_runtime import channels
from rcs_runtime.pg_notify import ChannelWaker
from rcs_runtime.tracing import context_from_storage, recording
from rcs_smpp.ids import message_id_variants, normalize_message_id

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("rcs.dispatcher")

DISPATCHED = Counter("rcs_dispatch_outcomes_total", "Dispatch outcomes", ["outcome"])
BATCH_SECONDS = Histogram("rcs_dispatch_batch_seconds", "Time to dispatch one claimed batch")


def sms_content(c: Claimed, sender: str) -> message_pb2.SmsContent:
    """What the connector sends: the text, or a binary SMS's octets with its coding."""
    if c.data_coding is None:
        return message_pb2.SmsContent(text=c.body, sender=sender, flash=c.flash)
    return message_pb2.SmsContent(
        sender=sender,
        payload=bytes.fromhex(c.body),
        data_coding=c.data_coding,
        esm_class=c.esm_class or 0,
    )


def send_window(c: Claimed) -> message_pb2.SendWindow | None:
    """The message's sending window for routing, which holds it outside (None: none)."""
    if c.window_begin is None or c.window_end is None:
        return None
    days = c.window_days or 0
    return message_pb2.SendWindow(
        begin_minute=c.window_begin,
        end_minute=c.window_end,
        weekdays=[d for d in range(1, 8) if days & (1 << (d - 1))],
        subscriber_zone=c.window_offset is None,
        utc_offset_minutes=c.window_offset or 0,
    )


def backoff(attempts: int, base: float, cap: float) -> dt.timedelta:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2^attempts))."""
    ceiling = min(cap, base * (2 ** min(attempts, 30)))
    return dt.timedelta(seconds=max(base, random.uniform(0, ceiling)))


def retry_delay(
    backoff_delay: dt.timedelta,
    result: connector_service_pb2.SendResult,
    valid_until: dt.datetime,
    now: dt.datetime,
) -> dt.timedelta:
    """A RETRY's delay: the backoff, or the provider's Retry-After (the connector's
    retry_after) when longer, but never past the message's validity: a hint beyond it
    leaves the message queued until then, and it expires at its next claim."""
    if not result.HasField("retry_after"):
        return backoff_delay
    delay = max(backoff_delay, result.retry_after.ToTimedelta())
    return max(dt.timedelta(0), min(delay, valid_until - now))


def sent_parts(
    c: Claimed, result: connector_service_pb2.SendResult, interface_id: str
) -> SentParts:
    """The parts of ``c`` an operator has accepted, this attempt's and (when the message
    split the same way) the earlier ones' it did not send again, as (part number, operator
    id, receipt scope). Operator ids are matched to receipts within the SMSC account."""
    scope = result.receipt_scope or result.interface_id or interface_id
    numbers = list(result.part_numbers) or range(1, len(result.operator_message_ids) + 1)
    now = {n: (n, raw, scope) for n, raw in zip(numbers, result.operator_message_ids, strict=True)}
    of = result.part_count or len(now)
    earlier = c.sent_parts
    if earlier is not None and earlier.of == of:
        for n, raw, was in earlier.parts:
            now.setdefault(n, (n, raw, was))
    return SentParts(of, tuple(now[n] for n in sorted(now)))


def operator_keys(raw: str) -> tuple[str, str | None]:
    key = normalize_message_id(raw)
    others = sorted(message_id_variants(raw) - {key})
    return key, (others[0] if others else None)


_UNAVAILABLE = {channels.PUSH: "push_unavailable", channels.VIBER: "messengers_unavailable"}
_UNAVAILABLE[channels.WHATSAPP] = _UNAVAILABLE[channels.TELEGRAM] = "messengers_unavailable"
# VK and FlashingCall also go to rcs_messengers: a text to a number, sent as an SMS is.
_MESSENGER_TEXT = frozenset({channels.VK, channels.FLASHINGCALL})
_UNAVAILABLE |= dict.fromkeys(_MESSENGER_TEXT, "messengers_unavailable")


class Dispatcher:
    def __init__(
        self,
        settings: CoreSettings,
        pool: AsyncConnectionPool,
        routing: routing_service_pb2_grpc.RoutingServiceAsyncStub,
        connector: connector_service_pb2_grpc.ConnectorServiceAsyncStub,
        push: connector_service_pb2_grpc.ConnectorServiceAsyncStub | None = None,
        messengers: connector_service_pb2_grpc.ConnectorServiceAsyncStub | None = None,
    ) -> None:
        self._s = settings
        self._pool = pool
        self._routing = routing
        self._connector = connector
        self._push = push
        # PUSH is not routed: it goes to rcs_rpns as its interface (RCS_PUSH_INTERFACE_ID).
        self._push_route = routing_service_pb2.Route(
            found=True, interface_id=settings.push_interface_id
        )
        # VIBER likewise goes to rcs_messengers, not routed (one provider interface for now).
        self._messengers = messengers
        self._owned_routes = {
            channels.PUSH: self._push_route,
            channels.VIBER: routing_service_pb2.Route(
                found=True, interface_id=settings.messengers_interface_id
            ),
        }
        self._owned_routes[channels.WHATSAPP] = self._owned_routes[channels.VIBER]
        self._owned_routes[channels.TELEGRAM] = self._owned_routes[channels.VIBER]
        for channel in _MESSENGER_TEXT:
            self._owned_routes[channel] = self._owned_routes[channels.VIBER]
        # The provider interfaces configured per messenger channel, else the one above.
        self._messenger_routes = MessengerRoutes(self._owned_routes[channels.VIBER])
        # Workers wake on the NOTIFY that accept sends (one listening connection for all).
        self._queued = ChannelWaker(settings.database_url, QUEUE_CHANNEL)
        self._shares = settings.priority_shares()

    async def run(self) -> None:
        self._queued.start()
        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(self._s.dispatcher_workers):
                    tg.create_task(self._worker())
        finally:
            await self._queued.close()

    async def _worker(self) -> None:
        while True:
            seen = self._queued.generation  # before claiming: a NOTIFY meanwhile wakes us
            try:
                count = await self.dispatch_once()
            except (psycopg.OperationalError, OSError):
                log.exception("dispatch_batch_failed")
                await asyncio.sleep(1)
                continue
            if count == 0:
                await self._queued.wait_past(seen, self._s.dispatcher_poll_seconds)

    async def dispatch_once(self) -> int:
        """Claim, route, send and record one batch; returns how many messages were claimed."""
        async with self._pool.connection() as conn, conn.transaction():
            claimed = await dispatch.claim(conn, self._s.dispatcher_batch, self._shares)
            if not claimed:
                return 0
            # One span per batch, linked to the trace each message was accepted in (only
            # when spans are recorded: parsing every stored traceparent costs CPU per message).
            links = (
                [
                    trace.Link(span_ctx)
                    for c in claimed
                    if c.trace_parent
                    and (
                        span_ctx := trace.get_current_span(
                            context_from_storage(c.trace_parent)
                        ).get_span_context()
                    ).is_valid
                ]
                if recording()
                else []
            )
            with BATCH_SECONDS.time(), _tracer.start_as_current_span("dispatch_batch", links=links):
                await self._dispatch(conn, claimed)
            return len(claimed)

    async def _dispatch(self, conn: psycopg.AsyncConnection, claimed: list[Claimed]) -> None:
        now = dt.datetime.now(dt.UTC)
        finals: list[tuple[Claimed, Status, int, str]] = []
        live: list[Claimed] = []
        blocked = await dispatch.filtered(conn, claimed)
        for c in claimed:
            if c.valid_until <= now:
                finals.append((c, Status.EXPIRED, int(ExtendedError.TIMEOUT), "validity_expired"))
            elif c.message_id in blocked:
                code, why = blocked[c.message_id]
                finals.append((c, Status.REJECTED, code, why))
            else:
                live.append(c)
        retries: list[tuple[Claimed, dt.timedelta, str, SentParts | None]] = []
        held: list[tuple[Claimed, dt.datetime, str]] = []
        sent: list[tuple[Claimed, str, int, int | None]] = []
        parts: list[tuple[str, SentPart]] = []  # (receipt scope, part)
        # Not routed: the channel's owner (rcs_rpns finds the installs; rcs_messengers
        # talks to the messenger's provider).
        owned = [c for c in live if c.channel in self._owned_routes]
        if owned:
            live = [c for c in live if c.channel not in self._owned_routes]
        outbound: list[tuple[Claimed, routing_service_pb2.Route]] = []
        routed = await self._route(live) if live else []
        if routed is None:
            retries += [(c, self._delay(c), "routing_unavailable", None) for c in live]
            routed, live = [], []
        for c, route in zip(live, routed, strict=True):
            if route.policy == routing_service_pb2.POLICY_OUTCOME_REFUSE:
                finals.append((c, Status.REJECTED, route.error_code, "outside_hours"))
            elif not route.found:
                finals.append((c, Status.UNDELIVERED, route.error_code or 11, "unrouted"))
            elif route.policy == routing_service_pb2.POLICY_OUTCOME_HOLD:
                # Held, not retried: no attempt is counted; validity still applies.
                hold_until = route.hold_until.ToDatetime(dt.UTC)
                why = "partner_window" if route.partner_window else "outside_hours"
                held.append((c, min(hold_until, c.valid_until), why))
            else:
                outbound.append((c, route))
        if any(c.channel != channels.PUSH for c in owned):
            await self._messenger_routes.refresh(conn)
        outbound += [
            (
                c,
                self._push_route
                if c.channel == channels.PUSH
                else self._messenger_routes.route(c.channel),
            )
            for c in owned
        ]
        results = await self._send(outbound) if outbound else []
        for (c, route), result in zip(outbound, results, strict=True):
            if result is None:
                why = _UNAVAILABLE.get(c.channel, "connector_unavailable")
                retries.append((c, self._delay(c), why, None))
                continue
            outcome = result.outcome
            if outcome == connector_service_pb2.SEND_OUTCOME_ACCEPTED:
                # After failover the connector names the interface it really used.
                used = result.interface_id or route.interface_id
                accepted = sent_parts(c, result, used)
                # A push or Viber message has no route: its traffic type stays the
                # partner's (or none).
                traffic = None if c.channel in self._owned_routes else route.traffic_type
                sent.append((c, used, accepted.of, traffic))
                for part_no, raw, scope in accepted.parts:
                    key, alt = operator_keys(raw)
                    parts.append((scope, SentPart(c.message_id, part_no, key, alt, c.created_at)))
            elif outcome == connector_service_pb2.SEND_OUTCOME_REJECTED:
                finals.append((c, Status.REJECTED, result.error_code or 1, result.detail))
            else:
                so_far = sent_parts(c, result, route.interface_id)
                delay = retry_delay(self._delay(c), result, c.valid_until, dt.datetime.now(dt.UTC))
                retries.append(
                    (c, delay, result.detail or "retry", so_far if so_far.parts else None)
                )
        await dispatch.record_sent(conn, sent, parts)
        await dispatch.record_final(conn, finals)
        await dispatch.record_retry(conn, retries)
        await dispatch.record_hold(conn, held)
        DISPATCHED.labels("sent").inc(len(sent))
        DISPATCHED.labels("held").inc(len(held))
        DISPATCHED.labels("final").inc(len(finals))
        DISPATCHED.labels("retry").inc(len(retries))

    def _delay(self, c: Claimed) -> dt.timedelta:
        return backoff(c.attempts, self._s.retry_base_seconds, self._s.retry_max_seconds)

    async def _route(self, live: list[Claimed]) -> list[routing_service_pb2.Route] | None:
        request = routing_service_pb2.ResolveRoutesRequest(
            queries=[
                routing_service_pb2.RouteQuery(
                    destination=c.destination,
                    sender=c.sender,
                    partner=c.partner,
                    channel=c.channel,  # type: ignore[arg-type]
                    traffic_type=c.traffic_type,
                    send_window=send_window(c),
                )
                for c in live
            ]
        )
        try:
            response = await self._routing.ResolveRoutes(request, timeout=5)
        except grpc.aio.AioRpcError as err:
            log.warning("routing_call_failed", extra={"code": err.code().name})
            return None
        return list(response.routes)

    async def _send(
        self, outbound: list[tuple[Claimed, routing_service_pb2.Route]]
    ) -> list[connector_service_pb2.SendResult | None]:
        """One result per message, in order; None where its channel's owner did not answer
        (the SMPP connector for SMS, rcs_rpns for PUSH: each is called once per batch)."""
        sms = [i for i, (c, _) in enumerate(outbound) if c.channel not in self._owned_routes]
        push = [i for i, (c, _) in enumerate(outbound) if c.channel == channels.PUSH]
        viber = [
            i
            for i, (c, _) in enumerate(outbound)
            if c.channel in channels.MESSENGER_CONTENT or c.channel in _MESSENGER_TEXT
        ]
        out: list[connector_service_pb2.SendResult | None] = [None] * len(outbound)
        calls = []
        if sms:
            calls.append((sms, self._connector, "connector"))
        if push and self._push is not None:
            calls.append((push, self._push, "push"))
        if viber and self._messengers is not None:
            calls.append((viber, self._messengers, "messengers"))
        answers = await asyncio.gather(
            *(
                self._call(stub, [self._outbound(*outbound[i]) for i in idx], name)
                for idx, stub, name in calls
            )
        )
        for (idx, _, _), answer in zip(calls, answers, strict=True):
            if answer is not None:
                for i, result in zip(idx, answer, strict=True):
                    out[i] = result
        return out

    def _outbound(
        self, c: Claimed, route: routing_service_pb2.Route
    ) -> connector_service_pb2.OutboundMessage:
        valid_until = timestamp_pb2.Timestamp()
        valid_until.FromDatetime(c.valid_until)
        if c.channel == channels.PUSH:
            return connector_service_pb2.OutboundMessage(
                message_id=str(c.message_id),
                interface_id=route.interface_id,
                destination=c.destination,
                valid_until=valid_until,
                receipt_wanted=True,
                channel=c.channel,  # type: ignore[arg-type]
                push=message_pb2.PushContent.FromString(c.push or b""),
                partner=c.partner,
            )
        if c.channel in channels.MESSENGER_CONTENT:  # content in the push column (validation)
            return connector_service_pb2.OutboundMessage(
                message_id=str(c.message_id),
                interface_id=route.interface_id,
                destination=c.destination,
                valid_until=valid_until,
                receipt_wanted=True,
                channel=c.channel,  # type: ignore[arg-type]
                viber=message_pb2.ViberContent.FromString(c.push or b""),
                partner=c.partner,
                fallback_interface_ids=route.fallback_interface_ids,
            )
        if c.channel in _MESSENGER_TEXT:
            return connector_service_pb2.OutboundMessage(
                message_id=str(c.message_id),
                interface_id=route.interface_id,
                destination=c.destination,
                sms=message_pb2.SmsContent(text=c.body, sender=c.sender),
                valid_until=valid_until,
                receipt_wanted=True,
                channel=c.channel,  # type: ignore[arg-type]
                partner=c.partner,
                fallback_interface_ids=route.fallback_interface_ids,
            )
        message = connector_service_pb2.OutboundMessage(
            message_id=str(c.message_id),
            interface_id=route.interface_id,
            fallback_interface_ids=route.fallback_interface_ids,
            destination=c.destination,
            sms=sms_content(c, route.sender or c.sender),
            valid_until=valid_until,
            receipt_wanted=True,
        )
        if c.sent_parts is not None:  # rare: set only then, off the common path
            message.sent_parts.extend(n for n, _, _ in c.sent_parts.parts)
            message.sent_parts_of = c.sent_parts.of
        return message

    async def _call(
        self,
        stub: connector_service_pb2_grpc.ConnectorServiceAsyncStub,
        messages: list[connector_service_pb2.OutboundMessage],
        name: str,
    ) -> list[connector_service_pb2.SendResult] | None:
        try:
            response = await stub.SendMessages(
                connector_service_pb2.SendMessagesRequest(messages=messages),
                timeout=self._s.connector_timeout_seconds,
            )
        except grpc.aio.AioRpcError as err:
            log.warning(f"{name}_call_failed", extra={"code": err.code().name})
            return None
        if len(response.results) != len(messages):
            log.error(f"{name}_answer_mismatch", extra={"sent": len(messages)})
            return None
        return list(response.results)
