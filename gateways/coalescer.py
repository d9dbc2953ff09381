"""Submits to core, coalesced: single sends of one partner that arrive together share one
SubmitMessages call.

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
from dataclasses import dataclass, field

import grpc

from gateways.rpc_errors import rcs_error
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from rcs_runtime.errors import RcsError, Reason


@dataclass(slots=True)
class _Batch:
    messages: list[ms.MessageSubmission] = field(default_factory=list)
    waiters: list[asyncio.Future[ms.SubmitResult]] = field(default_factory=list)


@dataclass(slots=True)
class _Partner:
    open: _Batch = field(default_factory=_Batch)
    in_flight: int = 0
    flush_scheduled: bool = False


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
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._timeout = timeout
        self._partners: dict[str, _Partner] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, partner: str, message: ms.MessageSubmission) -> ms.SubmitResult:
        """Core's result for ``message``; raises RcsError when the whole call failed."""
        state = self._partners.get(partner)
        if state is None:
            state = self._partners[partner] = _Partner()
        future: asyncio.Future[ms.SubmitResult] = asyncio.get_running_loop().create_future()
        state.open.messages.append(message)
        state.open.waiters.append(future)
        if len(state.open.messages) >= self._max_batch:
            self._send_open(partner, state)
        elif state.in_flight < self._max_in_flight and not state.flush_scheduled:
            # At the end of this loop turn: the sends parsed in the same turn go together.
            state.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_scheduled, partner, state)
        return await future

    def _flush_scheduled(self, partner: str, state: _Partner) -> None:
        state.flush_scheduled = False
        if state.in_flight < self._max_in_flight:
            self._send_open(partner, state)

    def _send_open(self, partner: str, state: _Partner) -> None:
        batch = state.open
        if not batch.messages:
            return
        state.open = _Batch()
        state.in_flight += 1
        task = asyncio.create_task(self._send(partner, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._call_ended(partner, state))

    def _call_ended(self, partner: str, state: _Partner) -> None:
        state.in_flight -= 1
        if state.open.messages:
            self._send_open(partner, state)
        elif state.in_flight == 0 and self._partners.get(partner) is state:
            del self._partners[partner]  # no state kept for partners gone quiet

    async def _send(self, partner: str, batch: _Batch) -> None:
        # No request_id: the call is never repeated (a failure answers every waiter), so a
        # key would only cost core a request_log round trip; without one, small calls
        # also share core's group commit (rcs_core.messages.accept_batcher).
        request = ms.SubmitMessagesRequest(partner=partner, messages=batch.messages)
        try:
            response = await self._stub.SubmitMessages(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            _fail(batch, rcs_error(err))
            return
        except Exception as e:  # never leave a caller waiting forever
            _fail(batch, RcsError(Reason.INTERNAL, f"submit failed: {e!r}"))
            raise
        if len(response.results) != len(batch.waiters):
            _fail(batch, RcsError(Reason.INTERNAL, "core answered a different number of results"))
            return
        for waiter, result in zip(batch.waiters, response.results, strict=True):
            if not waiter.done():
                waiter.set_result(result)

    async def close(self) -> None:
        """Send what is waiting, and wait for the calls in flight."""
        for partner, state in list(self._partners.items()):
            self._send_open(partner, state)
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _fail(batch: _Batch, error: RcsError) -> None:
    for waiter in batch.waiters:
        if not waiter.done():
            waiter.set_exception(error)
