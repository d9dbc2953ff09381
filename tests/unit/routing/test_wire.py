from __future__ import annotations

import datetime as dt

import pytest

from rcs.routing.v1 import routing_service_pb2 as rs
from rcs_routing.servicer import _route
from rcs_routing.table import Decision
from rcs_routing.wire import RouteEncoder, varint

DECISIONS = [
    Decision(False),
    Decision(False, error_code=11, revision=3, traffic_type=2),
    Decision(
        True,
        "Москва",
        "МегаОп",
        "mega-1",
        "ИНФО",
        0,
        2**40,
        (),
        ("mega-2", "bulk-1"),
        "rule-1",
        0,
        2,
        dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC),
    ),
    Decision(True, "d", "o", "i", "s" * 300, 0, 1, (), (), "", 7, 1, None),
    Decision(False, "d", "o", "", "s", 10, 1, (), (), "r", 0, 3, None),
    Decision(
        True,
        "d",
        "o",
        "i",
        "",
        0,
        1,
        (),
        (),
        "",
        2,
        2,
        dt.datetime(2026, 1, 1, 0, 0, 0, 500_000, tzinfo=dt.UTC),
    ),
    Decision(
        True,
        "d",
        "o",
        "i",
        "",
        hold_until=dt.datetime(2026, 1, 1, 7, tzinfo=dt.UTC),
        policy=2,
        held_by_window=True,
    ),
]


@pytest.mark.parametrize("decision", DECISIONS)
def test_encoded_route_is_what_the_message_builder_makes(decision: Decision) -> None:
    encoder = RouteEncoder()
    for _ in range(2):  # second time from the caches
        assert rs.Route.FromString(encoder.route(decision)) == _route(decision)


def test_encoded_batch_parses_as_a_response_in_order() -> None:
    answer = rs.ResolveRoutesResponse.FromString(RouteEncoder().routes(DECISIONS))
    assert list(answer.routes) == [_route(d) for d in DECISIONS]


@pytest.mark.parametrize("n", [0, 1, 127, 128, 300, 16383, 16384, 2**35])
def test_varint(n: int) -> None:
    raw = varint(n)
    assert rs.Route.FromString(b"\x38" + raw).revision == n
