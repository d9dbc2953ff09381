"""One provider call per message, shared by the messenger channels: the body and the
answer's meaning are the channel's (its ``*_wire`` module), the rest is here.

ACCEPTED carries the provider's id for the message as the operator id (its status
callbacks name it); REJECTED the extended code of what the provider refused; RETRY when it
could not answer, with the provider's Retry-After (429 / 503) as the result's retry_after.
A repeated message id (the dispatcher retrying a call whose answer it lost) gets the
operator id of its first send while this process lives; across restarts the servicer's
recorded answers do (rcs_messengers.sent_answers)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_messengers import retry_after

log = logging.getLogger(__name__)
_REMEMBERED = 100_000


@dataclass(frozen=True, slots=True)
class Answer:
    """A provider's answer as an outcome: its id for the message when accepted, else retry
    or an extended code."""

    operator_id: str = ""
    retry: bool = False
    error_code: int = 0
    detail: str = ""
    retry_after: float = 0.0  # seconds the provider asked us to wait (with retry)


def seconds_left(m: cs.OutboundMessage, default: int, least: int = 30) -> int:
    """What is left of the message's validity, in seconds (``default`` without one)."""
    if not m.HasField("valid_until"):
        return default
    left = m.valid_until.ToDatetime(dt.UTC) - dt.datetime.now(dt.UTC)
    return max(least, int(left.total_seconds()))


def result_of(m: cs.OutboundMessage, a: Answer, interface_id: str) -> cs.SendResult:
    if a.operator_id:
        return cs.SendResult(
            message_id=m.message_id,
            outcome=cs.SEND_OUTCOME_ACCEPTED,
            operator_message_ids=[a.operator_id],
            part_numbers=[1],
            part_count=1,
            receipt_scope=interface_id,
            interface_id=interface_id,
        )
    result = cs.SendResult(
        message_id=m.message_id,
        outcome=cs.SEND_OUTCOME_RETRY if a.retry else cs.SEND_OUTCOME_REJECTED,
        error_code=a.error_code,
        detail=a.detail,
        interface_id=interface_id,
    )
    if a.retry and a.retry_after > 0:
        result.retry_after.FromMilliseconds(int(a.retry_after * 1000))
    return result


class ProviderSender:
    """POSTs ``body_of(message)`` as JSON to ``url`` with ``headers``, at most
    ``concurrency`` at a time, and reads the answer with ``answer_of(status, json)``."""

    def __init__(
        self,
        name: str,
        http: httpx.AsyncClient,
        url: str,
        headers: dict[str, str],
        interface_id: str,
        concurrency: int,
        body_of: Callable[[cs.OutboundMessage], dict[str, Any]],
        answer_of: Callable[[int, Any], Answer],
    ) -> None:
        self._name = name
        self._http = http
        self._url = url
        self._headers = headers
        self._interface_id = interface_id
        self._slots = asyncio.Semaphore(concurrency)
        self._body_of = body_of
        self._answer_of = answer_of
        self._sent: OrderedDict[str, str] = OrderedDict()  # message id → operator id
        self._running: dict[str, asyncio.Future[Answer]] = {}  # message id → its call

    async def send(self, m: cs.OutboundMessage) -> cs.SendResult:
        if m.message_id in self._sent:
            return self.result(m, Answer(operator_id=self._sent[m.message_id]))
        # A repeat while the first call is still out (the dispatcher's deadline passed
        # first) waits for that call's answer instead of sending the message again.
        running = self._running.get(m.message_id)
        if running is not None:
            return self.result(m, await asyncio.shield(running))
        call = asyncio.ensure_future(self._call(m))
        self._running[m.message_id] = call
        try:
            return self.result(m, await asyncio.shield(call))
        finally:
            if call.done():
                self._running.pop(m.message_id, None)
            else:
                call.add_done_callback(lambda _: self._running.pop(m.message_id, None))

    async def _call(self, m: cs.OutboundMessage) -> Answer:
        body = self._body_of(m)
        async with self._slots:
            try:
                r = await self._http.post(self._url, json=body, headers=self._headers)
            except httpx.HTTPError as err:
                log.warning(f"{self._name}_send_failed", extra={"error": type(err).__name__})
                return Answer(retry=True, detail=f"{self._name}_unreachable")
        try:
            doc = r.json()
        except json.JSONDecodeError:
            doc = None
        answer = self._answer_of(r.status_code, doc)
        if answer.retry and r.status_code in retry_after.HINTED_STATUSES:
            hint = retry_after.seconds_of(r.headers.get("Retry-After"))
            answer = replace(answer, retry_after=hint)
        if answer.operator_id:
            self._sent[m.message_id] = answer.operator_id
            while len(self._sent) > _REMEMBERED:
                self._sent.popitem(last=False)
        return answer

    def result(self, m: cs.OutboundMessage, a: Answer) -> cs.SendResult:
        return result_of(m, a, self._interface_id)
