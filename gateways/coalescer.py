"""Submits to core, coalesced: one SubmitMessages call per partner for every submit that
arrives within ``max_delay`` seconds (or as soon as ``max_batch`` are waiting).

Each caller gets its own SubmitResult only after core's answer, i.e. after the commit that
stored its message ("stored before acknowledged"). A failed call fails every caller in it
with the catalogued RcsError (SERVICE_UNAVAILABLE when core is down, QUEUE_FULL, ...).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import grpc

from gateways.rest.rpc import rcs_error
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from rcs_runtime.errors import RcsError


@dataclass(slots=True)
class _Batch:
    messages: list[ms.MessageSubmission] = field(default_factory=list)
    waiters: list[asyncio.Future[ms.SubmitResult]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class SubmitCoalescer:
    def __init__(
        self,
        stub: message_service_pb2_grpc.MessageServiceAsyncStub,
        *,
        max_batch: int = 200,
        max_delay: float = 0.005,
        timeout: float = 10.0,
    ) -> None:
        self._stub = stub
        self._max_batch = max_batch
        self._max_delay = max_delay
        self._timeout = timeout
        self._open: dict[str, _Batch] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, partner: str, message: ms.MessageSubmission) -> ms.SubmitResult:
        """Core's result for ``message``; raises RcsError when the whole call failed."""
        batch = self._open.get(partner)
        if batch is None:
            batch = self._open[partner] = _Batch()
            batch.timer = asyncio.get_running_loop().call_later(
                self._max_delay, self._flush, partner, batch
            )
        future: asyncio.Future[ms.SubmitResult] = asyncio.get_running_loop().create_future()
        batch.messages.append(message)
        batch.waiters.append(future)
        if len(batch.messages) >= self._max_batch:
            self._flush(partner, batch)
        return await future

    def _flush(self, partner: str, batch: _Batch) -> None:
        if self._open.get(partner) is batch:
            del self._open[partner]
        if batch.timer is not None:
            batch.timer.cancel()
        task = asyncio.create_task(self._send(partner, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, partner: str, batch: _Batch) -> None:
        # No request_id: the call is never repeated (a failure answers every waiter), so a
        # key would only cost core a request_log round trip; without one, small calls
        # also share core's group commit (rcs_core.accept_batcher).
        request = ms.SubmitMessagesRequest(partner=partner, messages=batch.messages)
        try:
            response = await self._stub.SubmitMessages(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            _fail(batch, rcs_error(err))
            return
        except Exception as e:  # never leave a caller waiting forever
            _fail(batch, RcsError("INTERNAL", f"submit failed: {e!r}"))
            raise
        if len(response.results) != len(batch.waiters):
            _fail(batch, RcsError("INTERNAL", "core answered a different number of results"))
            return
        for waiter, result in zip(batch.waiters, response.results, strict=True):
            if not waiter.done():
                waiter.set_result(result)

    async def close(self) -> None:
        """Send what is waiting, and wait for the calls in flight."""
        for partner, batch in list(self._open.items()):
            self._flush(partner, batch)
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _fail(batch: _Batch, error: RcsError) -> None:
    for waiter in batch.waiters:
        if not waiter.done():
            waiter.set_exception(error)
