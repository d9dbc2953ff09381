from __future__ import annotations

import pytest

from rcs_routing.table import Direction, RoutingTable

RU = Direction("Russia", "MegaOp")
MSK = Direction("Moscow MegaOp", "MegaOp")
DE = Direction("Germany", "DeOp")


def table(**kw: object) -> RoutingTable:
    args: dict[str, object] = {
        "revision": 3,
        "prefixes": [("7", RU), ("7916", MSK)],
        "ranges": [(4915100000000, 4915199999999, DE)],
        "interfaces_by_operator": {"MegaOp": ["mega-1", "mega-2"], "DeOp": ["de-1"]},
    }
    args.update(kw)
    return RoutingTable(**args)  # type: ignore[arg-type]


def test_longest_prefix_wins() -> None:
    t = table()
    assert t.resolve("79161234567", "S").direction == "Moscow MegaOp"
    assert t.resolve("79031234567", "S").direction == "Russia"


def test_number_range_selects_direction_and_first_interface() -> None:
    d = table().resolve("4915112345678", "S")
    assert (d.found, d.direction, d.operator, d.interface_id, d.revision) == (
        True,
        "Germany",
        "DeOp",
        "de-1",
        3,
    )


def test_unknown_number_is_unrouted_with_code_11() -> None:
    d = table().resolve("4412345678", "S")
    assert (d.found, d.error_code) == (False, 11)


def test_operator_without_interface_is_unrouted() -> None:
    d = table(interfaces_by_operator={}).resolve("79161234567", "S")
    assert (d.found, d.error_code, d.operator) == (False, 11, "MegaOp")


def test_explain_lists_each_step() -> None:
    steps = table().resolve("79161234567", "S", explain=True).steps
    assert steps[0] == "direction Moscow MegaOp matched by prefix 7916"
    assert any("interface mega-1" in s for s in steps)


def test_overlapping_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        table(ranges=[(100, 200, DE), (150, 300, RU)])
