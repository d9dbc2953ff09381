"""The embedded PostgreSQL of `rcs run` (the `pgserver` package) as a supervised unit: the
supervisor sees its postmaster die and starts it again on the same data and socket."""

from __future__ import annotations

import os
from pathlib import Path

from pgserver.postgres_server import PostgresServer, get_server
from pgserver.utils import PostmasterInfo


class EmbeddedPostgres:
    name = "postgresql"

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: PostgresServer | None = None

    def start(self) -> None:
        if self._server is None:
            # Stopped when rcs exits (pgserver's own exit hook) unless another handle holds it.
            self._server = get_server(self.pgdata, cleanup_mode="stop")
            return
        # pgserver starts a dead postmaster again under its cross-process lock; a pg_ctl that
        # fails (old backends still hold the shared memory) raises, and the supervisor retries.
        with PostgresServer._lock:  # pgserver's own lock around its pg_ctl calls
            self._server.ensure_postgres_running()

    def uri(self, database: str) -> str:
        assert self._server is not None
        return str(self._server.get_uri(database))

    def psql(self, command: str) -> str:
        assert self._server is not None
        return str(self._server.psql(command))

    def postmaster_pid(self) -> int | None:
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        return info.pid if info is not None and info.pid and _running(info.pid) else None

    def exit_status(self) -> int | None:
        return None if self.postmaster_pid() is not None else 1

    def terminate(self) -> None:
        """Nothing here: pgserver stops the server with a fast shutdown when rcs exits."""

    def wait(self, timeout: float) -> None:
        """Nothing to wait for here either (see ``terminate``)."""


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's (pgserver's own user under root)
        pass
    try:  # a killed postmaster is a zombie until its parent (init) reaps it
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS): os.kill above is all we know
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"
