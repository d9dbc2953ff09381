"""Throwaway PostgreSQL clusters for tests that must stop or pause a server: a master and
its streaming replica (pg_basebackup -R) on free ports, run as the `postgres` user (the
server refuses root), removed afterwards. The shared test cluster is never touched."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from tests.conftest import free_port


def _bin(name: str) -> str:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not dirs:
        raise RuntimeError("no PostgreSQL binaries: run scripts/test-services.sh up")
    return os.path.join(dirs[-1], name)


def _as_postgres(*argv: str) -> None:
    cmd = list(argv)
    if os.geteuid() == 0:
        cmd = ["su", "postgres", "-s", "/bin/sh", "-c", subprocess.list2cmdline(cmd)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@dataclass
class Server:
    data: str
    port: int

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        opts = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c shared_buffers=16MB"
        log = os.path.join(os.path.dirname(self.data), f"{self.port}.log")
        _as_postgres(
            _bin("pg_ctl"), "-D", self.data, "-l", log, "-w", "-t", "60", "-o", opts, "start"
        )

    def stop(self) -> None:
        _as_postgres(_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))


@contextmanager
def master_and_replica() -> Iterator[tuple[Server, Server]]:
    root = tempfile.mkdtemp(prefix="rcs-pg-pair-")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    master = Server(os.path.join(root, "master"), free_port())
    replica = Server(os.path.join(root, "replica"), free_port())
    try:
        _as_postgres(_bin("initdb"), "-D", master.data, "-A", "trust", "-U", "postgres")
        master.start()
        _as_postgres(
            _bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(master.port), "-U", "postgres",
            "-D", replica.data, "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        replica.start()
        wait_streaming(replica.dsn)
        yield master, replica
    finally:
        for server in (replica, master):
            if server.running():
                server.stop()
        shutil.rmtree(root, ignore_errors=True)


def wait_streaming(dsn: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=2) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'"
                ).fetchone()
                if row and row[0]:
                    return
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replica at {dsn} does not stream after {timeout} s")
        time.sleep(0.2)
