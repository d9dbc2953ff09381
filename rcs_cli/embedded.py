"""`make run`: a whole installation on one machine with nothing else to install.

Embedded PostgreSQL (pgserver, data under .data/), migrations, the demo partner, then
one process per component — core, dispatcher, routing, connector, SMSC simulator, REST
gateway — supervised here. Ctrl-C stops them all; a second run keeps the data.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rcs_cli.seed import seed_demo
from rcs_core.migrate import migrate


def _port(name: str, default: int) -> int:
    return int(os.environ.get(f"RCS_{name}_PORT", str(default)))


REST_PORT = _port("REST", 8080)
SMSC_PORT = _port("SMSC", 2776)
PORTS = {
    "core": _port("CORE", 50051),
    "routing": _port("ROUTING", 50052),
    "connector": _port("CONNECTOR", 50053),
}
# Prometheus /metrics of each process, from RCS_METRICS_BASE_PORT (0: none); the REST
# gateway serves its own on its port.
_METRICS_BASE = _port("METRICS_BASE", 9101)
METRICS_PORTS = {
    name: (_METRICS_BASE + i if _METRICS_BASE else 0)
    for i, name in enumerate(("core", "dispatcher", "routing", "connector", "simulator"))
}
ORDER = ("routing", "simulator", "connector", "core", "dispatcher", "rest")


def _database(data_dir: Path) -> str:
    from pgserver.postgres_server import get_server  # embedded PostgreSQL 16

    server = get_server(data_dir / "pg", cleanup_mode="stop")
    server.psql("SELECT 1;")
    exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'rcs';")
    if "(1 row)" not in exists:
        server.psql("CREATE DATABASE rcs;")
    return str(server.get_uri("rcs"))


def _env(dsn: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RCS_DATABASE_URL": dsn,
            "RCS_CORE_BIND": f"127.0.0.1:{PORTS['core']}",
            "RCS_CORE_TARGET": f"127.0.0.1:{PORTS['core']}",
            "RCS_ROUTING_BIND": f"127.0.0.1:{PORTS['routing']}",
            "RCS_ROUTING_TARGET": f"127.0.0.1:{PORTS['routing']}",
            "RCS_CONNECTOR_BIND": f"127.0.0.1:{PORTS['connector']}",
            "RCS_CONNECTOR_TARGET": f"127.0.0.1:{PORTS['connector']}",
            "RCS_SMSC_PORT": str(SMSC_PORT),
            "RCS_REST_PORT": str(REST_PORT),
        }
    )
    return env


def _wait_ready(url: str, procs: dict[str, subprocess.Popen[bytes]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def _stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for p in procs.values():
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()


def run_embedded() -> int:
    data_dir = Path(os.environ.get("RCS_DATA_DIR", ".data")).resolve()
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"rcs: starting embedded PostgreSQL in {data_dir / 'pg'} …", flush=True)
    dsn = _database(data_dir)
    installation_id = int(os.environ.get("RCS_INSTALLATION_ID", "1"))
    asyncio.run(migrate(dsn, installation_id))
    asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=SMSC_PORT))
    env = _env(dsn)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        for name in ORDER:
            log_file = (logs / f"{name}.log").open("ab")
            procs[name] = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
                [sys.executable, "-m", "rcs_cli", "serve", name],
                env={**env, "RCS_METRICS_PORT": str(METRICS_PORTS.get(name, 0))},
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches only us; we stop them in order
            )
        if not _wait_ready(f"http://127.0.0.1:{REST_PORT}/healthz", procs, 60):
            dead = [n for n, p in procs.items() if p.poll() is not None]
            print(f"rcs: failed to start ({', '.join(dead) or 'timeout'}); logs in {logs}")
            return 1
        print(
            f"""
rcs: ready. Components log to {logs}/. Ctrl-C stops everything.

Send an SMS (demo partner, routed to the built-in SMSC simulator):

  curl -s -X POST http://127.0.0.1:{REST_PORT}/api/v6/send \\
    -H 'Content-Type: application/json' \\
    -d '{{"login":"demo","password":"demo","id":"demo-1","destAddr":"79161234567",
         "message":{{"type":"SMS","data":{{"text":"Hello from RCS","serviceNumber":"RCS"}}}}}}'

Then its status and history (use the mtNum from the answer):

  curl -s -u demo:demo http://127.0.0.1:{REST_PORT}/api/v6/messages/<mtNum>
""",
            flush=True,
        )
        while not stopping:
            dead = [n for n, p in procs.items() if p.poll() is not None]
            if dead:
                print(f"rcs: {', '.join(dead)} exited; stopping. Logs in {logs}", flush=True)
                return 1
            time.sleep(0.5)
        print("rcs: stopping …", flush=True)
        return 0
    finally:
        _stop(procs)
