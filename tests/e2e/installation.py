"""A whole installation as real processes (`rcs serve …`, forked from a parent that has
imported them: tests/forked.py) on free ports, against a test database — what `make run`
starts, minus the embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from rcs.common.v1 import status_pb2
from tests.conftest import free_port
from tests.forked import ForkedProcess

# The administrator the fixtures create (seed_demo makes none: issue 14).
ADMIN_LOGIN, ADMIN_PASSWORD = "admin", "e2e-admin-pass"

# Final statuses of an SMS (rcs.common.v1.MessageStatus): nothing follows them.
FINAL = {
    status_pb2.MESSAGE_STATUS_DELIVERED,
    status_pb2.MESSAGE_STATUS_UNDELIVERED,
    status_pb2.MESSAGE_STATUS_EXPIRED,
    status_pb2.MESSAGE_STATUS_REJECTED,
}
COMPONENTS = ("routing", "simulator", "connector", "core", "dispatcher", "rest")


@dataclass
class Installation:
    database_url: str
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, ForkedProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("core", "routing", "connector", "smsc", "smsc_control", "rest"):
            self.ports[name] = free_port()

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        p = self.ports
        env.update(
            {
                "RCS_DATABASE_URL": self.database_url,
                "RCS_INSTALLATION_ID": "7",
                "RCS_CORE_BIND": f"127.0.0.1:{p['core']}",
                "RCS_CORE_TARGET": f"127.0.0.1:{p['core']}",
                "RCS_ROUTING_BIND": f"127.0.0.1:{p['routing']}",
                "RCS_ROUTING_TARGET": f"127.0.0.1:{p['routing']}",
                "RCS_CONNECTOR_BIND": f"127.0.0.1:{p['connector']}",
                "RCS_CONNECTOR_TARGET": f"127.0.0.1:{p['connector']}",
                "RCS_SMSC_PORT": str(p["smsc"]),
                "RCS_SMSC_CONTROL_PORT": str(p["smsc_control"]),
                "RCS_REST_PORT": str(p["rest"]),
                "RCS_RETRY_BASE_SECONDS": "0.2",
                "RCS_RETRY_MAX_SECONDS": "1",
                "RCS_CONNECTOR_RECONNECT_MAX_SECONDS": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, *names: str) -> None:
        for name in names or COMPONENTS:
            self.start_as(name, name)

    def start_as(self, label: str, component: str, env: dict[str, str] | None = None) -> None:
        """One process of ``component`` known as ``label`` (its log, ``kill``), with ``env``
        over the installation's: e.g. a second core that the connector alone talks to."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs[label] = ForkedProcess(
            ["serve", component], {**self.env, **(env or {})}, self.log_dir / f"{label}.log"
        )

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()  # reaped: an unreaped one fails a later test with a ResourceWarning

    def logs(self) -> str:
        out = []
        for path in sorted(self.log_dir.glob("*.log")):
            out.append(f"--- {path.name}\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(out)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.ports['rest']}{path}"

    def wait_ready(self, timeout: float = 60, *, smsc: bool = True) -> None:
        """Until core listens, the connector has bound to the simulator (``smsc``) and the
        REST gateway (when started) answers /healthz."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead} exited during start-up:\n{self.logs()}")
            try:
                bound = not smsc or self.smsc_stats().get("binds", 0) > 0
                if bound and self._core_ready():
                    if "rest" not in self.procs:
                        return
                    with urllib.request.urlopen(self.url("/healthz"), timeout=1) as r:
                        if r.status == 200:
                            return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"installation not ready in {timeout}s:\n{self.logs()}")

    def _core_ready(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.ports["core"])) == 0

    def smsc_stats(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.ports['smsc_control']}/stats"
        with urllib.request.urlopen(url, timeout=2) as r:
            result: dict[str, Any] = json.loads(r.read())
            return result


def http(
    method: str,
    url: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


async def wait_until(predicate: Any, within: float, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)


@contextlib.contextmanager
def database_down(database_url: str) -> Iterator[None]:
    """The installation's database as a PostgreSQL restart looks to its clients: every
    connection is cut and new ones are refused until the block ends. (The test cluster is
    shared with other tests, so it is this database that goes away, not the server.)"""
    name = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
    admin = psycopg.conninfo.make_conninfo(database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
    try:
        yield
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
