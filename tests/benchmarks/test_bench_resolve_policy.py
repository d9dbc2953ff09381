"""Resolve latency with the full policy: 500,000 ranges and 10,000 rules (issue 3).

pytest-benchmark gives the throughput of 10,000-lookup rounds; the per-lookup latency
percentiles are measured call by call and recorded in extra_info (and printed), since the
target is a p99, not a mean.
"""

from __future__ import annotations

import datetime as dt
import gc
import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bench.routing_data import build_table, queries


@pytest.fixture(scope="module")
def big_table() -> Iterator[Any]:
    table = build_table()
    gc.collect()
    gc.freeze()  # as the routing service does after each load (TableHolder.load)
    yield table
    gc.unfreeze()


def test_resolve_with_500k_ranges_and_10k_rules(benchmark: Any, big_table: Any) -> None:
    table = big_table
    batch = queries(10_000)
    now = dt.datetime.now(dt.UTC)

    def run() -> int:
        found = 0
        for number, sender, partner, channel in batch:
            found += table.resolve(number, sender, partner=partner, channel=channel, now=now).found
        return found

    assert benchmark(run) == len(batch)
    samples = []
    clock = time.perf_counter_ns
    for number, sender, partner, channel in queries(50_000, seed=2):
        start = clock()
        table.resolve(number, sender, partner=partner, channel=channel, now=now)
        samples.append(clock() - start)
    cuts = statistics.quantiles(samples, n=100)
    benchmark.extra_info.update(
        {"lookups_per_round": len(batch), "p50_us": cuts[49] / 1000, "p99_us": cuts[98] / 1000}
    )
    print(f"\nresolve p50 {cuts[49] / 1000:.1f} µs, p99 {cuts[98] / 1000:.1f} µs")
