"""ConnectorService for the messenger channels: each message goes to its channel's
provider as one call (rcs_messengers.provider_call): Viber's send_message always,
WhatsApp's Cloud API and Telegram when their accounts are configured.

ACCEPTED carries the provider's id for the message as the operator id (receipts name it);
REJECTED the extended code of what the provider refused (or 10 / 1 for a channel without
an account here); RETRY when the provider could not answer. With a database, accepted
answers are recorded before the response (rcs_messengers.sent_answers) and a repeated
message is answered from the record, not sent again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import httpx

from rcs.common.v1 import channel_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs_messengers import viber_wire
from rcs_messengers.provider_call import Answer, ProviderSender, result_of, seconds_left
from rcs_messengers.provider_interfaces import ProviderInterfaces
from rcs_messengers.sent_answers import SentAnswers

Ctx = grpc.aio.ServicerContext[Any, Any]
DEFAULT_TTL = 86400  # rest_viber.rst's longest, when core sends no validity
# A channel without an account here: rest_status.rst's code for "cannot be sent".
_UNCONFIGURED = {
    channel_pb2.CHANNEL_WHATSAPP: (10, "no WhatsApp account here (RCS_WHATSAPP_ACCESS_TOKEN)"),
    channel_pb2.CHANNEL_TELEGRAM: (1, "no Telegram account here (RCS_TELEGRAM_TOKEN)"),
}


def _viber_answer(status: int, doc: Any) -> Answer:
    a = viber_wire.answer_of(status, doc)
    return Answer(a.token, a.retry, a.error_code, a.detail)


def viber_sender(
    http: httpx.AsyncClient, api_url: str, token: str, interface_id: str, concurrency: int
) -> ProviderSender:
    def body_of(m: cs.OutboundMessage) -> dict[str, object]:
        ttl = seconds_left(m, DEFAULT_TTL)
        return viber_wire.body_of(m.viber, m.destination, ttl, m.message_id)

    return ProviderSender(
        "viber",
        http,
        api_url.rstrip("/") + "/pa/send_message",
        {"X-Viber-Auth-Token": token},
        interface_id,
        concurrency,
        body_of,
        _viber_answer,
    )


class ViberConnectorServicer(connector_service_pb2_grpc.ConnectorServiceServicer):
    def __init__(
        self,
        http: httpx.AsyncClient,
        api_url: str,
        token: str,
        interface_id: str,
        concurrency: int,
        whatsapp: ProviderSender | None = None,
        telegram: ProviderSender | None = None,
    ) -> None:
        self._interface_id = interface_id
        self._senders: dict[int, ProviderSender] = {
            channel_pb2.CHANNEL_VIBER: viber_sender(http, api_url, token, interface_id, concurrency)
        }
        if whatsapp is not None:
            self._senders[channel_pb2.CHANNEL_WHATSAPP] = whatsapp
        if telegram is not None:
            self._senders[channel_pb2.CHANNEL_TELEGRAM] = telegram
        # VK and FlashingCall (rcs_messengers.vk, .flashcall), when configured.
        self.others: dict[int, Callable[[cs.OutboundMessage], Awaitable[cs.SendResult]]] = {}
        # Provider interfaces configured as settings (routed by core, with failover).
        self.interfaces: ProviderInterfaces | None = None
        # Accepted answers recorded in the database (none: only this process remembers).
        self.answers: SentAnswers | None = None

    async def SendMessages(
        self, request: cs.SendMessagesRequest, context: Ctx
    ) -> cs.SendMessagesResponse:
        if self.answers is None:
            results = await asyncio.gather(*(self._send(m) for m in request.messages))
            return cs.SendMessagesResponse(results=results)
        known = await self.answers.recorded([m.message_id for m in request.messages])
        results = await asyncio.gather(
            *(self._answer(m, known.get(m.message_id), self.answers) for m in request.messages)
        )
        return cs.SendMessagesResponse(results=results)

    async def _answer(
        self, m: cs.OutboundMessage, recorded: cs.SendResult | None, answers: SentAnswers
    ) -> cs.SendResult:
        if recorded is not None:
            return recorded
        result = await self._send(m)
        # Durable before core hears of it: a repeat after a restart finds the answer.
        await answers.record(m, result)
        return result

    async def _send(self, m: cs.OutboundMessage) -> cs.SendResult:
        if self.interfaces is not None and m.interface_id not in ("", self._interface_id):
            if self.interfaces.knows(m):
                return await self.interfaces.send(m)
            # Routed by core to interfaces not loaded here (yet): never through the
            # environment's account instead.
            detail = f"messenger interface {m.interface_id!r} is not loaded here yet"
            return result_of(m, Answer(retry=True, detail=detail), self._interface_id)
        if m.channel in self.others:
            return await self.others[m.channel](m)
        sender = self._senders.get(m.channel)
        if sender is not None:
            return await sender.send(m)
        code, detail = _UNCONFIGURED.get(m.channel, (1, "not a messenger channel"))
        return result_of(m, Answer(error_code=code, detail=detail), self._interface_id)
