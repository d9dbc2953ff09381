"""The REST gateway's push-back counter: admits up to its limit, refuses one more with
THROTTLED, frees its slot however the request ends, and the gauge shows what is in flight."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from gateways.rest.pushback import InFlight, PushedBackError


def _gauge() -> float:
    value = REGISTRY.get_sample_value("rcs_rest_in_flight")
    assert value is not None
    return value


def test_admits_up_to_the_limit_and_frees_the_slot_on_error() -> None:
    before = _gauge()
    in_flight = InFlight(2)
    with in_flight.admit():
        with in_flight.admit():
            assert in_flight.count == 2
            assert _gauge() == before + 2
            with pytest.raises(PushedBackError) as refused, in_flight.admit():
                pass
            assert refused.value.entry.http_status == 429
        with pytest.raises(RuntimeError), in_flight.admit():
            raise RuntimeError("the handler failed")
        assert in_flight.count == 1
    assert in_flight.count == 0
    assert _gauge() == before
