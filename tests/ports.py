"""Ports for the processes tests start, handed out so that two can never collide.

A test learns a port here and gives its number to a process that binds it later. A port
that was merely free at the check (bind 0, close) can be taken before that bind: by the
kernel for any outgoing connection (the ephemeral range) or by another pytest-xdist
worker's process. So ports come from below the kernel's ephemeral range, each worker
walks a range of its own with a per-process counter (a port is handed out once per pass
over the range), and a port that fails a test bind (something listens there, or a socket
of a finished test lingers) is skipped.

Ranges: the serial run, the xdist controller and scripts (bench/) take the first
`MAIN_PORTS` ports from `FIRST_PORT`; the workers gw0 … gwN-1 split the rest up to the
ephemeral range's low end. Separate pytest sessions on one machine share a range; each
starts at a random point of it, so they rarely meet and the test bind covers the rest.
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

FIRST_PORT = 20_000  # below: well-known services (Kannel's 13000-13013, etcd's 2379, …)
MAIN_PORTS = 2_000
# The fixed ports of scripts/test-services.sh (PostgreSQL, the replica and its primary,
# Kafka and its controller, Kafka Connect): in the ephemeral range on Debian, skipped here
# in any case.
_SERVICE_PORTS = (
    ("RCS_TEST_PG_PORT", 54329, 0),
    ("RCS_TEST_PG_PRIMARY_PORT", 54349, 0),
    ("RCS_TEST_PG_REPLICA_PORT", 54339, 0),
    ("CDC_KAFKA_PORT", 59092, 1),
    ("CDC_CONNECT_PORT", 59083, 0),
)


def service_ports() -> frozenset[int]:
    """The ports the shared test services listen on (env overrides as the script reads them)."""
    taken: set[int] = set()
    for name, default, extra in _SERVICE_PORTS:
        port = int(os.environ.get(name) or default)
        taken.update(range(port, port + extra + 1))
    return frozenset(taken)


def ephemeral_low() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def worker_range(worker: str | None, workers: int, below: int) -> range:
    """The ports of one pytest-xdist worker ("gw0", "gw1", …; None for the serial run, the
    controller and scripts) among `workers`, all below `below` (the ephemeral range)."""
    first = FIRST_PORT + MAIN_PORTS
    index = -1 if worker is None else int(worker.removeprefix("gw"))
    size = (below - first) // max(workers, index + 1)
    if size < 100:
        raise RuntimeError(
            f"{workers} test workers leave {size} ports each between {first} and the kernel's "
            f"ephemeral ports from {below} (/proc/sys/net/ipv4/ip_local_port_range): run "
            "fewer workers (TEST_WORKERS) or raise that range's low end"
        )
    if worker is None:
        return range(FIRST_PORT, first)
    return range(first + index * size, first + (index + 1) * size)


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class PortAllocator:
    """Walks `ports` from `start` with a counter, handing out runs of `count` consecutive
    ports that pass a test bind and are no service's, wrapping around at the end."""

    def __init__(self, ports: range, start: int | None = None, skip: frozenset[int] = frozenset()):
        self.ports = ports
        self.skip = skip
        self._next = ports.start if start is None else start

    def take(self, count: int = 1) -> int:
        for _ in range(len(self.ports)):
            first = self._next
            if first + count > self.ports.stop:
                self._next = first = self.ports.start
            self._next = first + count
            wanted = range(first, first + count)
            if not any(p in self.skip for p in wanted) and all(map(_bindable, wanted)):
                return first
            self._next = first + 1
        raise RuntimeError(
            f"no {count} free consecutive port(s) in {self.ports.start}-{self.ports.stop - 1}:"
            " processes of earlier tests may still hold them (ss -ltnp shows which)"
        )


_allocator: tuple[int, PortAllocator] | None = None


def _this_process() -> PortAllocator:
    """This process's allocator, made at first use (a forked child gets one of its own)."""
    global _allocator
    if _allocator is None or _allocator[0] != os.getpid():
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
        ports = worker_range(worker, workers, ephemeral_low())
        start = random.randrange(ports.start, ports.stop)
        _allocator = (os.getpid(), PortAllocator(ports, start, service_ports()))
    return _allocator[1]


def free_port() -> int:
    """A port free now that no other test, worker or outgoing connection is handed."""
    return _this_process().take()


def two_free_ports() -> int:
    """The first of two consecutive free ports (a Kafka broker and its controller, two
    routing processes on port and port + 1)."""
    return _this_process().take(2)
