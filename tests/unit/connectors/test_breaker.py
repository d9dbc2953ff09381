"""The per-interface circuit breaker, which results count as transport failures, and the
servicer's failover order against fake binds (no sockets)."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_connectors.health import OPEN, Breaker, State
from rcs_connectors.servicer import FAILOVERS, ConnectorServicer
from rcs_connectors.smpp_bind import OperatorBind, is_transport_failure


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def gauge(interface_id: str) -> float:
    return float(OPEN.labels(interface_id)._value.get())


def state(b: Breaker) -> State:
    return b.state


def test_opens_after_threshold_failures_in_a_row() -> None:
    b = Breaker("brk-open", threshold=3, cooldown=10, clock=Clock())
    assert gauge("brk-open") == 0
    for _ in range(2):
        b.failed()
    b.succeeded()  # a success resets the count
    for _ in range(2):
        b.failed()
    assert b.usable()
    assert not b.is_open
    b.failed()
    assert b.is_open
    assert not b.usable()
    assert gauge("brk-open") == 1


def test_half_open_lets_one_trial_through_after_the_cooldown() -> None:
    clock = Clock()
    b = Breaker("brk-half", threshold=1, cooldown=10, clock=clock)
    b.failed()
    clock.now += 9.9
    assert not b.usable()
    clock.now += 0.2
    assert b.usable()  # the trial
    assert state(b) is State.HALF_OPEN
    assert not b.usable()  # only one at a time
    b.failed()  # the trial failed: a new cooldown from now
    assert state(b) is State.OPEN
    clock.now += 5
    assert not b.usable()
    clock.now += 5.1
    assert b.usable()
    b.succeeded()  # the trial went through: closed
    assert not b.is_open
    assert b.usable()
    assert b.usable()
    assert gauge("brk-half") == 0


def test_a_released_trial_goes_to_the_next_message() -> None:
    clock = Clock()
    b = Breaker("brk-rel", threshold=1, cooldown=10, clock=clock)
    b.failed()
    clock.now += 11
    assert b.usable()
    b.released()  # e.g. the call was cancelled
    assert b.state is State.OPEN
    assert b.usable()  # the cooldown is over: a new trial at once


def test_late_failure_while_open_keeps_the_cooldown() -> None:
    clock = Clock()
    b = Breaker("brk-late", threshold=1, cooldown=10, clock=clock)
    b.failed()
    clock.now += 8
    b.failed()  # a submit sent before the opening
    clock.now += 2.5
    assert b.usable()


def retry(detail: str, status: int = 0) -> cs.SendResult:
    return cs.SendResult(outcome=cs.SEND_OUTCOME_RETRY, detail=detail, command_status=status)


@pytest.mark.parametrize(
    ("result", "transport"),
    [
        (retry("no_response"), True),
        (retry("not_bound"), True),
        (retry("throttled"), True),
        (retry("submit_status_0x58", 0x58), True),
        (retry("submit_status_0x14", 0x14), True),
        (retry("submit_status_0x08", 0x08), True),
        (retry("submit_status_0x45", 0x45), True),
        (retry("submit_status_0x64", 0x64), False),
        (retry("something_new"), False),
        (cs.SendResult(outcome=cs.SEND_OUTCOME_ACCEPTED), False),
        (cs.SendResult(outcome=cs.SEND_OUTCOME_REJECTED, command_status=0x58), False),
    ],
)
def test_which_results_are_transport_failures(result: cs.SendResult, transport: bool) -> None:
    assert is_transport_failure(result) is transport


class FakeBind:
    """Answers each submit with the next scripted result (the last one repeats)."""

    def __init__(self, *answers: cs.SendResult, bound: bool = True) -> None:
        self.answers = list(answers)
        self.up = asyncio.Event()
        if bound:
            self.up.set()
        self.submits = 0
        self.hang = False
        self.longest_submit_seconds = 12.0

    @property
    def bound(self) -> bool:
        return self.up.is_set()

    async def wait_bound(self) -> None:
        await self.up.wait()

    async def submit(self, m: cs.OutboundMessage) -> cs.SendResult:
        self.submits += 1
        if self.hang:
            await asyncio.sleep(3600)
        answer = self.answers[min(self.submits, len(self.answers)) - 1]
        result = cs.SendResult()
        result.CopyFrom(answer)
        result.message_id = m.message_id
        return result


ACCEPTED = cs.SendResult(outcome=cs.SEND_OUTCOME_ACCEPTED, operator_message_ids=["1"])
REJECTED = cs.SendResult(outcome=cs.SEND_OUTCOME_REJECTED, command_status=0x0B, error_code=8)
THROTTLED = retry("submit_status_0x58", 0x58)


def servicer(binds: dict[str, FakeBind], **kwargs: float) -> ConnectorServicer:
    return ConnectorServicer(cast(dict[str, OperatorBind], binds), **kwargs)  # type: ignore[arg-type]


async def send(s: ConnectorServicer, *fallbacks: str, first: str = "a") -> cs.SendResult:
    m = cs.OutboundMessage(message_id="1", interface_id=first, fallback_interface_ids=fallbacks)
    answer = await s.SendMessages(cs.SendMessagesRequest(messages=[m]), None)  # type: ignore[arg-type]
    (result,) = answer.results
    return result


def failovers(src: str, dst: str) -> float:
    return float(FAILOVERS.labels(src, dst)._value.get())


async def test_transport_retry_fails_over_and_counts() -> None:
    a, b = FakeBind(THROTTLED), FakeBind(ACCEPTED)
    s = servicer({"fo-a": a, "fo-b": b})
    before = failovers("fo-a", "fo-b")
    result = await send(s, "fo-b", first="fo-a")
    assert (result.outcome, result.interface_id) == (cs.SEND_OUTCOME_ACCEPTED, "fo-b")
    assert (a.submits, b.submits) == (1, 1)
    assert failovers("fo-a", "fo-b") == before + 1


async def test_rejection_and_message_retry_are_final() -> None:
    a, b = FakeBind(REJECTED, retry("submit_status_0x64", 0x64)), FakeBind(ACCEPTED)
    s = servicer({"a": a, "b": b}, breaker_failures=1)
    result = await send(s, "b")
    assert (result.outcome, result.interface_id, result.error_code) == (
        cs.SEND_OUTCOME_REJECTED,
        "a",
        8,
    )
    result = await send(s, "b")
    assert (result.outcome, result.detail, result.interface_id) == (
        cs.SEND_OUTCOME_RETRY,
        "submit_status_0x64",
        "a",
    )
    assert b.submits == 0
    assert not s.breaker("a").is_open  # neither answer says the bind is in trouble


async def test_rejection_resets_the_failure_count() -> None:
    a, b = FakeBind(THROTTLED, REJECTED, THROTTLED), FakeBind(ACCEPTED)
    s = servicer({"a": a, "b": b}, breaker_failures=2)
    for _ in range(3):
        await send(s, "b")
    assert not s.breaker("a").is_open  # failure, reset, failure: never two in a row
    await send(s, "b")
    assert s.breaker("a").is_open


async def test_each_candidate_is_tried_once_and_last_failure_is_returned() -> None:
    a, b = FakeBind(THROTTLED), FakeBind(retry("no_response"))
    s = servicer({"a": a, "b": b})
    result = await send(s, "b", "a", "b", "missing")
    assert (a.submits, b.submits) == (1, 1)
    assert (result.outcome, result.detail, result.interface_id) == (
        cs.SEND_OUTCOME_RETRY,
        "no_response",
        "b",
    )


async def test_unbound_and_open_candidates_are_skipped() -> None:
    a, b, c = FakeBind(ACCEPTED, bound=False), FakeBind(THROTTLED), FakeBind(ACCEPTED)
    s = servicer({"a": a, "b": b, "c": c}, breaker_failures=1)
    assert (await send(s, "b", "c")).interface_id == "c"  # a unbound, b throttles
    assert s.breaker("b").is_open
    assert (await send(s, "b", "c")).interface_id == "c"
    assert (a.submits, b.submits, c.submits) == (0, 1, 2)


async def test_nothing_usable_answers_retry_after_a_short_wait() -> None:
    a, b = FakeBind(ACCEPTED, bound=False), FakeBind(ACCEPTED, bound=False)
    s = servicer({"a": a, "b": b}, bind_wait_seconds=0.05)
    result = await send(s, "b")
    assert (result.outcome, result.detail, result.interface_id) == (
        cs.SEND_OUTCOME_RETRY,
        "no_interface_available",
        "a",
    )
    assert (a.submits, b.submits) == (0, 0)
    result = await send(s, first="unknown")
    assert (result.outcome, result.detail) == (cs.SEND_OUTCOME_RETRY, "unknown_interface")


async def test_a_bind_coming_up_during_the_wait_is_used() -> None:
    a = FakeBind(ACCEPTED, bound=False)
    s = servicer({"a": a}, bind_wait_seconds=5)
    asyncio.get_running_loop().call_later(0.05, a.up.set)
    result = await send(s)
    assert (result.outcome, result.interface_id) == (cs.SEND_OUTCOME_ACCEPTED, "a")


async def test_cancelled_trial_is_handed_back() -> None:
    a = FakeBind(THROTTLED)
    s = servicer({"a": a}, breaker_failures=1, breaker_cooldown_seconds=0)
    await send(s)
    assert s.breaker("a").state is State.OPEN
    a.hang = True
    call = asyncio.create_task(send(s))
    await asyncio.sleep(0.01)
    assert s.breaker("a").state is State.HALF_OPEN
    call.cancel()
    await asyncio.gather(call, return_exceptions=True)
    assert s.breaker("a").state is State.OPEN
    assert s.breaker("a").usable()


async def test_no_failover_past_the_callers_deadline() -> None:
    class Ctx:
        def time_remaining(self) -> float:
            return 5.0  # less than b's longest submit

    a, b = FakeBind(THROTTLED), FakeBind(ACCEPTED)
    s = servicer({"a": a, "b": b})
    m = cs.OutboundMessage(message_id="1", interface_id="a", fallback_interface_ids=["b"])
    answer = await s.SendMessages(cs.SendMessagesRequest(messages=[m]), Ctx())  # type: ignore[arg-type]
    assert (answer.results[0].detail, answer.results[0].interface_id) == (
        "submit_status_0x58",
        "a",
    )
    assert b.submits == 0


async def test_a_reloaded_bind_gets_a_fresh_breaker() -> None:
    binds = {"a": FakeBind(THROTTLED)}
    s = servicer(binds, breaker_failures=1)
    await send(s)
    assert s.breaker("a").is_open
    binds["a"] = FakeBind(ACCEPTED)
    assert not s.breaker("a").is_open
    assert (await send(s)).outcome == cs.SEND_OUTCOME_ACCEPTED
