"""Micro-batching: callers hand in one item each and await its result; items that arrive
together go out as one batch (one RPC, one transaction).

Items wait in a lane per key (a partner, say; one lane when every caller passes the same
key). A lane sends when

- ``max_delay`` has passed since its oldest waiting item (0: at the end of the event-loop
  turn, so that the items of one turn go together and an idle lane adds no delay), or
- its items weigh ``max_size`` (``weight`` of each, 1 by default),

and fewer than ``max_in_flight`` of its batches are running; otherwise the items wait for
one of them to end and then go at once. Under load batches thus grow by themselves while
an idle caller waits for nothing. With ``full_waits=False`` a full batch goes even when
``max_in_flight`` are running (the limit then bounds only the partial ones).

``send(key, items)`` answers one result per item, in order; a ``Failed(exc)`` in its place
fails that caller alone. When ``send`` raises, every caller of that batch (and only those)
gets the exception. A caller that is cancelled leaves its item in its batch: the others
are answered as usual, and the item is still sent (as the hand-made batchers before this
did; a caller's cancellation does not undo what it asked for).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
I = TypeVar("I")  # noqa: E741 (item)
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Failed:
    """In ``send``'s answer, in place of a result: this item's caller gets ``error``."""

    error: BaseException


@dataclass(slots=True)
class _Lane(Generic[I, R]):
    pending: deque[tuple[I, int, asyncio.Future[R]]] = field(default_factory=deque)
    weight: int = 0
    in_flight: int = 0
    due: bool = False  # the waiting items go as soon as a batch may start
    timer: asyncio.Handle | None = None


class Batcher(Generic[K, I, R]):
    def __init__(
        self,
        send: Callable[[K, list[I]], Awaitable[Sequence[R | Failed]]],
        *,
        max_size: int,
        max_delay: float = 0.0,
        max_in_flight: int | None = None,
        full_waits: bool = True,
        weight: Callable[[I], int] | None = None,
        name: str = "batch",
    ) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, not {max_size}")
        if max_delay < 0:
            raise ValueError(f"max_delay must not be negative, not {max_delay}")
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError(
                f"max_in_flight must be at least 1 (None: no limit), not {max_in_flight}"
            )
        self._send = send
        self._max_size = max_size
        self._max_delay = max_delay
        self._max_in_flight = math.inf if max_in_flight is None else max_in_flight
        self._full_waits = full_waits
        self._weight = weight
        self._name = name
        self._lanes: dict[K, _Lane[I, R]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # referenced until done

    def submit(self, key: K, item: I) -> asyncio.Future[R]:
        """To await: ``item``'s result once its batch was sent, or what failed it. (A
        future, not a coroutine: one frame less per item on the hot path.)"""
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        weight = 1 if self._weight is None else self._weight(item)
        lane.pending.append((item, weight, future))
        lane.weight += weight
        if lane.weight >= self._max_size:
            self._pump(key, lane)
        elif not lane.due and lane.timer is None:
            if self._max_delay == 0:
                lane.timer = loop.call_soon(self._expire, key, lane)
            else:
                lane.timer = loop.call_later(self._max_delay, self._expire, key, lane)
        # Otherwise it waits: for its timer, or (due) for a batch in flight to end.
        return future

    def pending(self) -> int:
        """Items waiting for their batch to start."""
        return sum(len(lane.pending) for lane in self._lanes.values())

    async def close(self) -> None:
        """Send everything waiting (the in-flight limit still holds) and wait until each
        batch has been answered."""
        while self._tasks or self._lanes:
            for key, lane in list(self._lanes.items()):
                lane.due = True
                self._pump(key, lane)
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            else:
                await asyncio.sleep(0)

    async def abort(self) -> None:
        """Stop at once (a process shutting down whose callers are gone): running batches
        are cancelled, and every caller still waiting gets CancelledError."""
        for lane in self._lanes.values():
            if lane.timer is not None:
                lane.timer.cancel()
                lane.timer = None
            for _, _, future in lane.pending:
                future.cancel()
            lane.pending.clear()
            lane.weight = 0
            lane.due = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _expire(self, key: K, lane: _Lane[I, R]) -> None:
        lane.timer = None
        lane.due = True
        self._pump(key, lane)

    def _pump(self, key: K, lane: _Lane[I, R]) -> None:
        while lane.pending:
            full = lane.weight >= self._max_size
            if not (lane.due or full):
                break
            if lane.in_flight >= self._max_in_flight and (self._full_waits or not full):
                break
            self._start(key, lane, self._carve(lane))
        if not lane.pending:
            lane.due = False
            if lane.timer is not None:
                lane.timer.cancel()
                lane.timer = None
            if lane.in_flight == 0 and self._lanes.get(key) is lane:
                del self._lanes[key]  # nothing kept for keys gone quiet

    def _carve(self, lane: _Lane[I, R]) -> list[tuple[I, int, asyncio.Future[R]]]:
        """The oldest items up to ``max_size`` (at least one, however heavy)."""
        pending = lane.pending
        if lane.weight <= self._max_size:
            batch = list(pending)
            pending.clear()
            lane.weight = 0
            return batch
        batch = [pending.popleft()]
        size = batch[0][1]
        while pending and size + pending[0][1] <= self._max_size:
            entry = pending.popleft()
            batch.append(entry)
            size += entry[1]
        lane.weight -= size
        return batch

    def _start(
        self, key: K, lane: _Lane[I, R], batch: list[tuple[I, int, asyncio.Future[R]]]
    ) -> None:
        lane.in_flight += 1
        task = asyncio.create_task(self._run(key, batch), name=self._name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._ended(key, lane))

    def _ended(self, key: K, lane: _Lane[I, R]) -> None:
        # A lane is dropped only when nothing of it waits or runs: this one is still kept.
        lane.in_flight -= 1
        self._pump(key, lane)

    async def _run(self, key: K, batch: list[tuple[I, int, asyncio.Future[R]]]) -> None:
        try:
            results = await self._send(key, [item for item, _, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(
                    f"{self._name}: send answered {len(results)} results for {len(batch)} items"
                )
        except asyncio.CancelledError:
            for _, _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # every caller of this batch, and only those, learns of it
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():
                continue  # its caller was cancelled
            if isinstance(result, Failed):
                future.set_exception(result.error)
            else:
                future.set_result(result)
