"""The test port allocator: workers' ranges never overlap one another, the kernel's
ephemeral ports or the test services' ports, and a port in use is skipped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import (
    FIRST_PORT,
    PortAllocator,
    ephemeral_low,
    free_port,
    service_ports,
    two_free_ports,
    worker_range,
)

LOW = ephemeral_low()
ROOT = Path(__file__).resolve().parents[2]


def _ranges(workers: int) -> list[range]:
    return [worker_range(None, workers, LOW)] + [
        worker_range(f"gw{i}", workers, LOW) for i in range(workers)
    ]


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 8])
def test_ranges_are_disjoint_and_below_the_ephemeral_ports(workers: int) -> None:
    ranges = _ranges(workers)
    ports = [p for r in ranges for p in r]
    assert len(ports) == len(set(ports))
    assert min(ports) >= FIRST_PORT
    assert max(ports) < LOW
    assert not set(ports) & service_ports()
    assert all(len(r) >= 100 for r in ranges)


def test_the_services_ports_are_the_scripts(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {54329, 54339, 54349, 59092, 59093, 59083} <= service_ports()
    monkeypatch.setenv("CDC_KAFKA_PORT", "21000")
    assert {21000, 21001} <= service_ports()


def test_too_many_workers_for_the_range_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="run fewer workers"):
        worker_range("gw0", 200, 32768)


@pytest.fixture
def held() -> Iterator[socket.socket]:
    """A listening socket on a port of the serial range (what a live test process is)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", free_port()))
        s.listen()
        yield s


def test_a_port_in_use_is_skipped(held: socket.socket) -> None:
    port = held.getsockname()[1]
    allocator = PortAllocator(range(port, port + 50))
    assert allocator.take() == port + 1


def test_a_pair_is_two_free_ports(held: socket.socket) -> None:
    port = held.getsockname()[1]
    allocator = PortAllocator(range(port - 1, port + 50), start=port - 1)
    assert allocator.take(2) == port + 1  # port - 1 and port: the second is in use


def test_a_service_port_is_skipped() -> None:
    port = free_port()
    allocator = PortAllocator(range(port, port + 50), skip=frozenset({port}))
    assert allocator.take() == port + 1


def test_each_port_once_per_pass_then_around() -> None:
    first = free_port()
    allocator = PortAllocator(range(first, first + 40))
    taken = [allocator.take() for _ in range(40)]
    assert sorted(taken) == list(range(first, first + 40))
    assert allocator.take() == first


def test_nothing_free_says_so(held: socket.socket) -> None:
    port = held.getsockname()[1]
    with pytest.raises(RuntimeError, match="no 1 free consecutive port"):
        PortAllocator(range(port, port + 1)).take()


_TAKE = "from tests.ports import free_port, two_free_ports\n" + (
    "print(*[free_port() for _ in range(300)], *[two_free_ports() for _ in range(100)])"
)


def test_two_workers_never_hand_out_the_same_port() -> None:
    """Two processes as pytest-xdist names its workers, each taking 300 single ports and
    100 pairs from its own allocator."""
    seen: list[set[int]] = []
    for worker in ("gw0", "gw1"):
        env = dict(os.environ, PYTEST_XDIST_WORKER=worker, PYTEST_XDIST_WORKER_COUNT="2")
        out = subprocess.run(
            [sys.executable, "-c", _TAKE],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        singles, pairs = [int(p) for p in out[:300]], [int(p) for p in out[300:]]
        ports = singles + pairs + [p + 1 for p in pairs]
        assert len(set(ports)) == 500
        own = worker_range(worker, 2, LOW)
        assert own.start <= min(ports)
        assert max(ports) < own.stop <= LOW
        seen.append(set(ports))
    assert not seen[0] & seen[1]


def test_free_port_and_two_free_ports_are_bindable() -> None:
    port, pair = free_port(), two_free_ports()
    with socket.socket() as a, socket.socket() as b, socket.socket() as c:
        a.bind(("127.0.0.1", port))
        b.bind(("127.0.0.1", pair))
        c.bind(("127.0.0.1", pair + 1))
