"""Resolve throughput of the compiled routing table (in process)."""

from __future__ import annotations

import random
from typing import Any

from rcs_routing.table import Direction, RoutingTable


def _table() -> RoutingTable:
    rng = random.Random(7)
    prefixes = [(f"79{i:03d}", Direction(f"ru-{i}", f"op-{i % 5}")) for i in range(1000)]
    prefixes.append(("7", Direction("ru", "op-0")))
    ranges = [
        (
            49_000_000_0000 + i * 10_000,
            49_000_000_0000 + i * 10_000 + 9_999,
            Direction(f"de-{i}", "op-1"),
        )
        for i in range(10_000)
    ]
    rng.shuffle(ranges)
    return RoutingTable(
        revision=1,
        prefixes=prefixes,
        ranges=ranges,
        interfaces_by_operator={f"op-{i}": [f"if-{i}"] for i in range(5)},
    )


def test_resolve_lookups(benchmark: Any) -> None:
    table = _table()
    rng = random.Random(1)
    numbers = [f"79{rng.randrange(10**9):09d}" for _ in range(5000)] + [
        str(49_000_000_0000 + rng.randrange(100_000_000)) for _ in range(5000)
    ]

    def run() -> int:
        found = 0
        for n in numbers:
            found += table.resolve(n, "S").found
        return found

    found = benchmark(run)
    assert found > 5000
    benchmark.extra_info["lookups_per_round"] = len(numbers)
