"""Providers' status events to core as receipts keyed by (this interface, the provider's id
for the message), shared by the messenger webhooks.

A replayed event changes nothing: core applies a receipt it already has without effect, and
the same (id, statuses) recorded here recently is not passed on again. When core does not
store them, the webhook answers an error so that the provider sends them again."""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from google.protobuf import timestamp_pb2

from rcs.core.v1 import delivery_service_pb2_grpc, message_service_pb2

log = logging.getLogger(__name__)
_REMEMBERED = 100_000


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One status of one message: the provider's id for it, what happened, when."""

    operator_id: str
    statuses: tuple[int, ...]  # READ comes with DELIVERED, so a lost DELIVERED is not missed
    error_code: int
    at: dt.datetime
    state: str
    peer: str = ""  # the subscriber by the provider's id for them (VK's user id), if given


class ReceiptRecorder:
    def __init__(
        self,
        name: str,
        core: delivery_service_pb2_grpc.DeliveryServiceAsyncStub,
        interface_id: str,
        timeout: float,
    ) -> None:
        self._name = name
        self._core = core
        self._interface_id = interface_id
        self._timeout = timeout
        self._done: OrderedDict[tuple[str, tuple[int, ...]], None] = OrderedDict()

    def fresh(self, events: Sequence[StatusEvent]) -> list[StatusEvent]:
        """The events not recorded here recently."""
        return [e for e in events if (e.operator_id, e.statuses) not in self._done]

    async def record(self, events: Sequence[StatusEvent]) -> bool:
        """Whether core stored the fresh ones (True when there were none)."""
        fresh = self.fresh(events)
        receipts = []
        for event in fresh:
            done = timestamp_pb2.Timestamp()
            done.FromDatetime(event.at)
            receipts += [
                message_service_pb2.Receipt(
                    interface_id=self._interface_id,
                    operator_message_id=event.operator_id,
                    status=status,  # type: ignore[arg-type]
                    error_code=event.error_code,
                    done_time=done,
                    operator_state=event.state,
                    peer=event.peer,
                )
                for status in event.statuses
            ]
        if not receipts:
            return True
        try:
            await self._core.RecordReceipts(
                message_service_pb2.RecordReceiptsRequest(receipts=receipts), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as err:
            log.warning(f"{self._name}_receipt_not_recorded", extra={"code": err.code().name})
            return False
        for event in fresh:
            self._done[(event.operator_id, event.statuses)] = None
        while len(self._done) > _REMEMBERED:
            self._done.popitem(last=False)
        return True
