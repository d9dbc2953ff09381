"""Subscribers' replies to core as MO (RecordInbound), shared by the messenger webhooks:
one part per reply, UCS-2 text, its channel, media link and the message it answers.

The request id is made of the provider's ids for the replies, so a replayed callback is
the same request, which core answers once; a reply core did not store is answered with an
error to the provider, which sends it again."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from google.protobuf import timestamp_pb2

from rcs.core.v1 import delivery_service_pb2_grpc, message_service_pb2

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reply:
    """A subscriber's message to a business account, as a provider's callback gives it."""

    provider_id: str  # the provider's id for it (idempotency)
    sender: str  # the subscriber's number
    destination: str  # the number / name written to; "" when the provider does not say
    text: str
    at: dt.datetime
    media_url: str = ""
    reply_to_message_id: str = ""  # the answered message by our id (tracking data)
    reply_to_operator_id: str = ""  # ... or by the provider's id for it
    peer: str = ""  # the subscriber by the provider's id, when sender is "" (VK)


class InboundRecorder:
    def __init__(
        self,
        name: str,
        channel: int,
        core: delivery_service_pb2_grpc.DeliveryServiceAsyncStub,
        interface_id: str,
        timeout: float,
    ) -> None:
        self._name = name
        self._channel = channel
        self._core = core
        self._interface_id = interface_id
        self._timeout = timeout

    async def record(self, replies: Sequence[Reply]) -> bool:
        """Whether core stored them (True when there were none)."""
        return not replies or await self.stored(replies) is not None

    async def stored(self, replies: Sequence[Reply]) -> list[str] | None:
        """Core's MO id of each reply ("" for one it did not take: a peer it does not
        know), or None when core did not answer (the provider must send them again)."""
        parts = []
        for r in replies:
            at = timestamp_pb2.Timestamp()
            at.FromDatetime(r.at)
            parts.append(
                message_service_pb2.InboundPart(
                    interface_id=self._interface_id,
                    source=r.sender,
                    destination=r.destination,
                    data_coding=8,  # UCS-2: a messenger's text is any Unicode
                    payload=r.text.encode("utf-16-be"),
                    receive_time=at,
                    channel=self._channel,  # type: ignore[arg-type]
                    media_url=r.media_url,
                    reply_to_message_id=r.reply_to_message_id,
                    reply_to_operator_id=r.reply_to_operator_id,
                    peer=r.peer,
                )
            )
        request = message_service_pb2.RecordInboundRequest(
            request_id=f"{self._name}:" + ",".join(r.provider_id for r in replies), parts=parts
        )
        try:
            answer = await self._core.RecordInbound(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            log.warning(f"{self._name}_reply_not_recorded", extra={"code": err.code().name})
            return None
        return [r.message_id for r in answer.results]
