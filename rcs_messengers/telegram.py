"""CHANNEL_TELEGRAM for the messenger service's ConnectorService: each message is one
sendMessage call (rcs_messengers.telegram_wire). ACCEPTED carries the request_id as the
operator id (the status reports name it); a repeated message id gets its first request_id
while this process lives."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections import OrderedDict

import httpx

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_messengers import telegram_wire

log = logging.getLogger(__name__)
_REMEMBERED = 100_000
DEFAULT_TTL = 86400  # rest_telegram.rst's longest, when core sends no validity


class TelegramSender:
    def __init__(
        self,
        http: httpx.AsyncClient,
        api_url: str,
        token: str,
        callback_url: str,
        interface_id: str,
        concurrency: int,
    ) -> None:
        self._http = http
        self._url = api_url.rstrip("/") + "/sendMessage"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._callback = callback_url
        self._interface_id = interface_id
        self._slots = asyncio.Semaphore(concurrency)
        self._sent: OrderedDict[str, str] = OrderedDict()  # message id → request_id

    async def send(self, m: cs.OutboundMessage) -> cs.SendResult:
        if m.message_id in self._sent:
            return self._result(m, telegram_wire.Answer(request_id=self._sent[m.message_id]))
        ttl = DEFAULT_TTL
        if m.HasField("valid_until"):
            left = m.valid_until.ToDatetime(dt.UTC) - dt.datetime.now(dt.UTC)
            ttl = max(30, int(left.total_seconds()))
        body = telegram_wire.body_of(m.viber, m.destination, ttl, m.message_id, self._callback)
        async with self._slots:
            try:
                r = await self._http.post(self._url, json=body, headers=self._headers)
            except httpx.HTTPError as err:
                log.warning("telegram_send_failed", extra={"error": type(err).__name__})
                return self._result(m, telegram_wire.Answer(retry=True, detail="unreachable"))
        try:
            doc = r.json()
        except json.JSONDecodeError:
            doc = None
        answer = telegram_wire.answer_of(r.status_code, doc)
        if answer.request_id:
            self._sent[m.message_id] = answer.request_id
            while len(self._sent) > _REMEMBERED:
                self._sent.popitem(last=False)
        return self._result(m, answer)

    def _result(self, m: cs.OutboundMessage, a: telegram_wire.Answer) -> cs.SendResult:
        if a.request_id:
            return cs.SendResult(
                message_id=m.message_id,
                outcome=cs.SEND_OUTCOME_ACCEPTED,
                operator_message_ids=[a.request_id],
                part_numbers=[1],
                part_count=1,
                receipt_scope=self._interface_id,
                interface_id=self._interface_id,
            )
        return cs.SendResult(
            message_id=m.message_id,
            outcome=cs.SEND_OUTCOME_RETRY if a.retry else cs.SEND_OUTCOME_REJECTED,
            error_code=a.error_code,
            detail=a.detail,
            interface_id=self._interface_id,
        )
