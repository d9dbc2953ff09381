"""What a provider's answer becomes for the dispatcher (SendResult), and receipts to core.

Shared by the messenger channels: ACCEPTED names the provider's id for the message (the
receipts name it, in this service's interface), REJECTED carries the extended code,
RETRY leaves the message queued for another attempt."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import grpc
from google.protobuf import timestamp_pb2

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.core.v1 import message_service_pb2, message_service_pb2_grpc

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Answer:
    """A provider's answer as an outcome: its id when accepted, else retry or a code."""

    token: str = ""
    retry: bool = False
    error_code: int = 0
    detail: str = ""


def result_of(m: cs.OutboundMessage, a: Answer, interface_id: str) -> cs.SendResult:
    if a.token:
        return cs.SendResult(
            message_id=m.message_id,
            outcome=cs.SEND_OUTCOME_ACCEPTED,
            operator_message_ids=[a.token],
            part_numbers=[1],
            part_count=1,
            receipt_scope=interface_id,
            interface_id=interface_id,
        )
    return cs.SendResult(
        message_id=m.message_id,
        outcome=cs.SEND_OUTCOME_RETRY if a.retry else cs.SEND_OUTCOME_REJECTED,
        error_code=a.error_code,
        detail=a.detail,
        interface_id=interface_id,
    )


@dataclass(frozen=True, slots=True)
class Event:
    """A provider's status callback: which message (its id), what happened, when."""

    token: str
    statuses: tuple[int, ...]
    error_code: int
    at: dt.datetime
    state: str


async def record(
    core: message_service_pb2_grpc.MessageServiceAsyncStub,
    interface_id: str,
    event: Event,
    rpc_seconds: float,
) -> bool:
    """The event's receipts stored by core (a repeat changes nothing there); False when
    core did not answer, so the provider is told to send the callback again."""
    done = timestamp_pb2.Timestamp()
    done.FromDatetime(event.at)
    receipts = [
        message_service_pb2.Receipt(
            interface_id=interface_id,
            operator_message_id=event.token,
            status=status,  # type: ignore[arg-type]
            error_code=event.error_code,
            done_time=done,
            operator_state=event.state,
        )
        for status in event.statuses
    ]
    try:
        await core.RecordReceipts(
            message_service_pb2.RecordReceiptsRequest(receipts=receipts), timeout=rpc_seconds
        )
    except grpc.aio.AioRpcError as err:
        log.warning("messenger_receipt_not_recorded", extra={"code": err.code().name})
        return False
    return True
