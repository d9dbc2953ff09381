"""rcs_runtime.batcher: when batches go, what they hold, and who learns of a failure."""

from __future__ import annotations

import asyncio

import pytest

from rcs_runtime.batcher import Batcher, Failed


class Sink:
    """A send function that records its batches and, when gated, waits for the gate."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[int]]] = []
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None
        self.running = 0
        self.most_running = 0

    async def send(self, key: str, items: list[int]) -> list[int | Failed]:
        self.batches.append((key, items))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.fail is not None:
                raise self.fail
            return [Failed(ValueError(i)) if i < 0 else i * 10 for i in items]
        finally:
            self.running -= 1


async def turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_items_of_one_turn_go_together_and_each_caller_gets_its_result() -> None:
    sink = Sink()
    b: Batcher[str, int, int] = Batcher(sink.send, max_size=100)
    results = await asyncio.gather(*(b.submit("a", i) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert sink.batches == [("a", [0, 1, 2, 3, 4])]
    await b.close()


async def test_an_idle_lane_sends_at_once_without_a_timer() -> None:
    sink = Sink()
    sink.gate = asyncio.Event()
    b: Batcher[str, int, int] = Batcher(sink.send, max_size=100, max_delay=0)
    first = asyncio.ensure_future(b.submit("a", 1))
    await turns()
    assert sink.batches == [("a", [1])]
    sink.gate.set()
    assert await first == 10


async def test_size_limit_splits_in_arrival_order() -> None:
    sink = Sink()
    b: Batcher[str, int, int] = Batcher(sink.send, max_size=3)
    results = await asyncio.gather(*(b.submit("a", i) for i in range(7)))
    assert results == [i * 10 for i in range(7)]
    assert [items for _, items in sink.batches] == [[0, 1, 2], [3, 4, 5], [6]]


async def test_weights_count_toward_the_size_and_a_heavy_item_goes_alone() -> None:
    sink = Sink()
    b: Batcher[str, int, int] = Batcher(sink.send, max_size=10, weight=lambda i: i)
    await asyncio.gather(*(b.submit("a", i) for i in (4, 5, 3, 12, 1)))
    # 4+5 = 9; +3 would pass 10. 12 is over the limit by itself and goes alone.
    assert [items for _, items in sink.batches] == [[4, 5], [3], [12], [1]]


async def test_keys_have_their_own_batches() -> None:
    sink = Sink()
    b: Batcher[str, int, int] = Batcher(sink.send, max_size=100)
    await asyncio.gather(b.submit("a", 1), b.submit("b", 2), b.submit("a", 3))
    assert sorted(sink.batches) == [("a", [1, 3]), ("b", [2])]
    assert b.pending() == 0
    assert not b._lanes  # no state kept for keys gone quiet


async def test_items_wait_while_the_in_flight_limit_is_reached_then_go_together() -> None:
    sink = Sink()
    sink.gate = asyncio.Event()
    b: Batcher[str, int, int] = Batcher(sink.send, max_size=100, max_in_flight=1)
    first = asyncio.ensure_future(b.submit("a", 0))
    await turns()
    later = [asyncio.ensure_future(b.submit("a", i)) for i in range(1, 6)]
    other = asyncio.ensure_future(b.submit("b", 9))  # another key: its own limit
    await turns()
    assert sink.batches == [("a", [0]), ("b", [9])]
    assert b.pending() == 5
    sink.gate.set()
    assert await asyncio.gather(first, *later, other) == [0, 10, 20, 30, 40, 50, 90]
    assert sink.batches[2] == ("a", [1, 2, 3, 4, 5])


async def test_full_batches_wait_for_the_limit_unless_told_not_to() -> None:
    for full_waits, most in ((True, 1), (False, 3)):
        sink = Sink()
        sink.gate = asyncio.Event()
        b: Batcher[str, int, int] = Batcher(
            sink.send, max_size=2, max_in_flight=1, full_waits=full_waits
        )
        calls = [asyncio.ensure_future(b.submit("a", i)) for i in range(6)]
        await turns()
        assert sink.most_running == most, full_waits
        sink.gate.set()
        assert await asyncio.gather(*calls) == [0, 10, 20, 30, 40, 50]
        assert [items for _, items in sink.batches] == [[0, 1], [2, 3], [4, 5]]


async def test_max_delay_holds_a_partial_batch_and_a_full_one_goes_at_once() -> None:
    sink = Sink()
    b: Batcher[str, int, int] = Batcher(sink.send, max_size=3, max_delay=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    slow = asyncio.ensure_future(b.submit("a", 1))
    await asyncio.sleep(0.01)
    assert sink.batches == []  # held for the delay
    full = [asyncio.ensure_future(b.submit("a", i)) for i in (2, 3)]
    await turns()
    assert sink.batches == [("a", [1, 2, 3])]  # full: no need to wait
    assert await asyncio.gather(slow, *full) == [10, 20, 30]
    alone = await b.submit("a", 4)
    assert alone == 40
    assert loop.time() - started >= 0.05  # the last, partial one waited for the delay
    assert sink.batches[-1] == ("a", [4])


async def test_a_failed_batch_fails_exactly_its_callers() -> None:
    sink = Sink()
    sink.gate = asyncio.Event()
    b: Batcher[str, int, int] = Batcher(sink.send, max_size=2)
    doomed = [asyncio.ensure_future(b.submit("a", i)) for i in (1, 2)]
    await turns()
    sink.fail = RuntimeError("down")
    sink.gate.set()
    outcomes = await asyncio.gather(*doomed, return_exceptions=True)
    assert all(isinstance(o, RuntimeError) and str(o) == "down" for o in outcomes)
    sink.fail = None
    survivors = await asyncio.gather(b.submit("a", 3), b.submit("b", 4))
    assert list(survivors) == [30, 40]


async def test_a_failed_batch_does_not_touch_a_concurrent_one() -> None:
    b_sink = Sink()

    async def send(key: str, items: list[int]) -> list[int | Failed]:
        if key == "bad":
            await asyncio.sleep(0)
            raise OSError("no route")
        return await b_sink.send(key, items)

    b: Batcher[str, int, int] = Batcher(send, max_size=10)
    first, good, last = await asyncio.gather(
        b.submit("bad", 1), b.submit("good", 2), b.submit("bad", 3), return_exceptions=True
    )
    assert isinstance(first, OSError)
    assert isinstance(last, OSError)
    assert good == 20


async def test_failed_entries_fail_their_caller_alone() -> None:
    b: Batcher[str, int, int] = Batcher(Sink().send, max_size=10)
    outcomes = await asyncio.gather(
        b.submit("a", 1), b.submit("a", -2), b.submit("a", 3), return_exceptions=True
    )
    assert outcomes[0] == 10
    assert outcomes[2] == 30
    assert isinstance(outcomes[1], ValueError)


async def test_a_wrong_number_of_results_fails_the_batch() -> None:
    async def short(key: str, items: list[int]) -> list[int | Failed]:
        return list[int | Failed](items[:-1])

    b: Batcher[str, int, int] = Batcher(short, max_size=10, name="short")
    outcomes = await asyncio.gather(b.submit("a", 1), b.submit("a", 2), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) and "short" in str(o) for o in outcomes)


async def test_a_cancelled_caller_does_not_break_its_batch() -> None:
    sink = Sink()
    sink.gate = asyncio.Event()
    b: Batcher[str, int, int] = Batcher(sink.send, max_size=10)
    calls = [asyncio.ensure_future(b.submit("a", i)) for i in range(3)]
    await turns()
    calls[1].cancel()
    sink.gate.set()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert outcomes[0] == 0
    assert outcomes[2] == 20
    assert isinstance(outcomes[1], asyncio.CancelledError)
    assert sink.batches == [("a", [0, 1, 2])]  # its item was sent all the same


async def test_a_caller_cancelled_before_its_batch_starts_still_sends_its_item() -> None:
    sink = Sink()
    sink.gate = asyncio.Event()
    b: Batcher[str, int, int] = Batcher(sink.send, max_size=10, max_in_flight=1)
    first = asyncio.ensure_future(b.submit("a", 0))
    await turns()
    waiting = [asyncio.ensure_future(b.submit("a", i)) for i in (1, 2)]
    await turns()
    waiting[0].cancel()
    sink.gate.set()
    assert await first == 0
    assert await waiting[1] == 20
    assert sink.batches == [("a", [0]), ("a", [1, 2])]


async def test_close_sends_what_waits_and_waits_for_the_batches_in_flight() -> None:
    sink = Sink()
    b: Batcher[str, int, int] = Batcher(sink.send, max_size=10, max_delay=60, max_in_flight=1)
    calls = [asyncio.ensure_future(b.submit(k, i)) for i, k in enumerate("aab")]
    await turns()
    assert sink.batches == []  # held by the (long) delay
    await b.close()
    assert all(c.done() for c in calls)
    assert [c.result() for c in calls] == [0, 10, 20]
    assert sorted(sink.batches) == [("a", [0, 1]), ("b", [2])]


async def test_abort_cancels_running_batches_and_waiting_callers() -> None:
    sink = Sink()
    sink.gate = asyncio.Event()  # never set: the batch would run forever
    b: Batcher[str, int, int] = Batcher(sink.send, max_size=10, max_in_flight=1)
    running = asyncio.ensure_future(b.submit("a", 0))
    await turns()
    waiting = asyncio.ensure_future(b.submit("a", 1))
    held = asyncio.ensure_future(b.submit("b", 2))  # its timer not yet fired
    await b.abort()
    outcomes = await asyncio.gather(running, waiting, held, return_exceptions=True)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
    assert sink.batches == [("a", [0])]
    sink.gate.set()
    assert await asyncio.wait_for(b.submit("a", 3), 1) == 30  # still usable afterwards


def test_bad_limits_are_refused() -> None:
    sink = Sink()
    with pytest.raises(ValueError, match="max_size"):
        Batcher(sink.send, max_size=0)
    with pytest.raises(ValueError, match="max_delay"):
        Batcher(sink.send, max_size=1, max_delay=-1)
    with pytest.raises(ValueError, match="max_in_flight"):
        Batcher(sink.send, max_size=1, max_in_flight=0)
