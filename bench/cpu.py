"""CPU time of the processes a load run involves, read from /proc (Linux): what each
component costs per message, which throughput alone does not show on a shared host."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system time of one process so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14, 15)


def postgres_pids() -> list[int]:
    """Every PostgreSQL process on this host: backends, WAL writer, autovacuum..."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class CpuMeter:
    """CPU seconds per labelled group of processes between ``start`` and ``stop``. PostgreSQL
    is counted over all its processes, those that start meanwhile (new backends) included."""

    def __init__(self, groups: Mapping[str, list[int]], *, postgres: bool = True) -> None:
        self._groups = dict(groups)
        self._postgres = postgres
        self._before: dict[int, float] = {}
        self.seconds: dict[str, float] = {}

    def _snapshot(self) -> dict[int, float]:
        pids = [pid for group in self._groups.values() for pid in group]
        if self._postgres:
            pids += postgres_pids()
        return {pid: cpu_seconds(pid) for pid in pids}

    def start(self) -> None:
        self._before = self._snapshot()

    def stop(self) -> None:
        after = self._snapshot()
        used = {pid: t - self._before.get(pid, 0.0) for pid, t in after.items()}
        self.seconds = {
            name: sum(used.get(p, 0.0) for p in ps) for name, ps in self._groups.items()
        }
        if self._postgres:
            mine = {p for ps in self._groups.values() for p in ps}
            self.seconds["postgres"] = sum(t for p, t in used.items() if p not in mine)

    def report(self, messages: int) -> str:
        """One line: each group's CPU in ms per message, busiest first, and the total."""
        parts = sorted(self.seconds.items(), key=lambda kv: -kv[1])
        each = ", ".join(f"{name} {s * 1000 / messages:.3f}" for name, s in parts)
        total = sum(self.seconds.values()) * 1000 / messages
        return f"CPU per message (ms): {each}; total {total:.3f}"
