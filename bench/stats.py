"""Throughput and latency percentiles printed by the load scripts."""

from __future__ import annotations


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def report(name: str, count: int, seconds: float, latencies: list[float], unit: str = "msg") -> str:
    lat = sorted(latencies)
    ms = [percentile(lat, q) * 1000 for q in (50, 90, 99)]
    return (
        f"{name}: {count} {unit} in {seconds:.2f} s = {count / seconds:,.0f} {unit}/s; "
        f"latency p50 {ms[0]:.1f} ms, p90 {ms[1]:.1f} ms, p99 {ms[2]:.1f} ms"
    )
