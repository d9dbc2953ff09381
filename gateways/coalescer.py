"""Submits to core, coalesced: single sends of one partner that arrive together share one
SubmitMessages call (an ``rcs_runtime.batcher.Batcher`` with a lane per partner).

The batch size adapts to the load instead of waiting on a timer. A partner's sends go out
at the end of the event-loop turn that received them while fewer than ``max_in_flight``
of its calls are running; otherwise they wait for one of those calls to end (or until
``max_batch`` are waiting) and go together. An idle gateway thus adds no delay, and a busy
one sends few, large calls: core's cost is mostly per call, not per message.

Each caller gets its own SubmitResult only after core's answer, i.e. after the commit that
stored its message ("stored before acknowledged"). A failed call fails every caller in it
with the catalogued RcsError (SERVICE_UNAVAILABLE when core is down, QUEUE_FULL, ...).
"""

from __future__ import annotations

import asyncio

import grpc

from gateways.rpc_errors import rcs_error
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from rcs_runtime.batcher import Batcher, Failed
from rcs_runtime.errors import RcsError, Reason


class SubmitCoalescer:
    def __init__(
        self,
        stub: message_service_pb2_grpc.MessageServiceAsyncStub,
        *,
        max_batch: int = 200,
        max_in_flight: int = 2,
        timeout: float = 10.0,
    ) -> None:
        self._stub = stub
        self._timeout = timeout
        # A full batch goes even while max_in_flight calls run: the limit only keeps
        # partial batches waiting, so that they grow.
        self._batcher: Batcher[str, ms.MessageSubmission, ms.SubmitResult] = Batcher(
            self._send,
            max_size=max_batch,
            max_in_flight=max_in_flight,
            full_waits=False,
            name="submit-coalescer",
        )

    def submit(
        self, partner: str, message: ms.MessageSubmission
    ) -> asyncio.Future[ms.SubmitResult]:
        """To await: core's result for ``message``; raises RcsError when the whole call
        failed. (The batcher's future itself: no coroutine frame per message.)"""
        return self._batcher.submit(partner, message)

    async def _send(
        self, partner: str, messages: list[ms.MessageSubmission]
    ) -> list[ms.SubmitResult | Failed]:
        # No request_id: the call is never repeated (a failure answers every waiter), so a
        # key would only cost core a request_log round trip; without one, small calls
        # also share core's group commit (rcs_core.messages.accept_batcher).
        request = ms.SubmitMessagesRequest(partner=partner, messages=messages)
        try:
            response = await self._stub.SubmitMessages(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            raise rcs_error(err) from err
        except Exception as e:  # never leave a caller without a catalogued error
            raise RcsError(Reason.INTERNAL, f"submit failed: {e!r}") from e
        if len(response.results) != len(messages):
            raise RcsError(Reason.INTERNAL, "core answered a different number of results")
        return list(response.results)

    async def close(self) -> None:
        """Send what is waiting, and wait for the calls in flight."""
        await self._batcher.close()
