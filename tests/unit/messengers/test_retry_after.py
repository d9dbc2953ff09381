"""A provider's Retry-After (both forms) as the messenger service's hint, and the
dispatcher's delay from it: the longer of backoff and hint, within the validity."""

from __future__ import annotations

import datetime as dt

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_core.delivery.dispatcher import retry_delay
from rcs_messengers.provider_call import Answer, result_of
from rcs_messengers.retry_after import seconds_of

NOW = dt.datetime(2026, 12, 7, 15, 0, 0, tzinfo=dt.UTC)


def test_delay_seconds_and_http_date_are_read() -> None:
    assert seconds_of("120", NOW) == 120.0
    assert seconds_of(" 7 ", NOW) == 7.0
    assert seconds_of("Mon, 07 Dec 2026 15:00:30 GMT", NOW) == 30.0


def test_missing_unreadable_or_past_hints_are_none() -> None:
    assert seconds_of(None, NOW) == 0.0
    assert seconds_of("", NOW) == 0.0
    assert seconds_of("soon", NOW) == 0.0
    assert seconds_of("-5", NOW) == 0.0
    assert seconds_of("Mon, 07 Dec 2026 14:59:00 GMT", NOW) == 0.0


def test_a_retry_carries_the_hint_and_an_acceptance_or_refusal_does_not() -> None:
    m = cs.OutboundMessage(message_id="42")
    hinted = result_of(m, Answer(retry=True, detail="x", retry_after=2.5), "i")
    assert hinted.outcome == cs.SEND_OUTCOME_RETRY
    assert hinted.retry_after.ToMilliseconds() == 2500
    assert not result_of(m, Answer(retry=True), "i").HasField("retry_after")
    assert not result_of(m, Answer(error_code=1, retry_after=3), "i").HasField("retry_after")


def _retry(ms: int | None) -> cs.SendResult:
    r = cs.SendResult(outcome=cs.SEND_OUTCOME_RETRY)
    if ms is not None:
        r.retry_after.FromMilliseconds(ms)
    return r


def test_the_dispatcher_waits_the_longer_of_backoff_and_hint_within_the_validity() -> None:
    backoff = dt.timedelta(seconds=1)
    later = NOW + dt.timedelta(hours=1)
    assert retry_delay(backoff, _retry(None), later, NOW) == backoff
    assert retry_delay(backoff, _retry(5000), later, NOW) == dt.timedelta(seconds=5)
    assert retry_delay(backoff, _retry(100), later, NOW) == backoff
    # Past the validity: queued until it ends (then expired at the claim), not longer.
    soon = NOW + dt.timedelta(seconds=30)
    assert retry_delay(backoff, _retry(3_600_000), soon, NOW) == dt.timedelta(seconds=30)
