"""CHANNEL_WHATSAPP for the messenger service's ConnectorService: each message is one
POST /{version}/{phone-number-id}/messages to the Cloud API with the Bearer token.

ACCEPTED carries the wamid as the operator id (the status webhooks name it); REJECTED the
extended code of what WhatsApp refused; RETRY when it could not answer. A repeated message
id (the dispatcher retrying a call whose answer it lost) gets the wamid of its first send
while this process lives, as for Viber."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict

import httpx

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_messengers import whatsapp_wire

log = logging.getLogger(__name__)
_REMEMBERED = 100_000


class WhatsAppSender:
    def __init__(
        self,
        http: httpx.AsyncClient,
        api_url: str,
        phone_number_id: str,
        access_token: str,
        interface_id: str,
        concurrency: int,
    ) -> None:
        self._http = http
        self._url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._interface_id = interface_id
        self._slots = asyncio.Semaphore(concurrency)
        self._sent: OrderedDict[str, str] = OrderedDict()  # message id → wamid

    async def send(self, m: cs.OutboundMessage) -> cs.SendResult:
        if m.message_id in self._sent:
            return self._result(m, whatsapp_wire.Answer(wamid=self._sent[m.message_id]))
        body = whatsapp_wire.body_of(m.viber, m.destination)
        async with self._slots:
            try:
                r = await self._http.post(self._url, json=body, headers=self._headers)
            except httpx.HTTPError as err:
                log.warning("whatsapp_send_failed", extra={"error": type(err).__name__})
                return self._result(m, whatsapp_wire.Answer(retry=True, detail="unreachable"))
        try:
            doc = r.json()
        except json.JSONDecodeError:
            doc = None
        answer = whatsapp_wire.answer_of(r.status_code, doc)
        if answer.wamid:
            self._sent[m.message_id] = answer.wamid
            while len(self._sent) > _REMEMBERED:
                self._sent.popitem(last=False)
        return self._result(m, answer)

    def _result(self, m: cs.OutboundMessage, a: whatsapp_wire.Answer) -> cs.SendResult:
        if a.wamid:
            return cs.SendResult(
                message_id=m.message_id,
                outcome=cs.SEND_OUTCOME_ACCEPTED,
                operator_message_ids=[a.wamid],
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
