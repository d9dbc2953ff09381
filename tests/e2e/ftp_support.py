"""The FTP gateway as a process of an e2e installation, and FTPS clients for it."""

from __future__ import annotations

import contextlib
import ftplib
import io
import re
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from tests.conftest import _admin_dsn, _dsn_for, free_port
from tests.e2e.installation import Installation

REPORT_TIME = re.compile(rb"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


class FtpGateway:
    def __init__(self, inst: Installation, base: Path, **env: str) -> None:
        self.inst = inst
        self.port = free_port()
        self.root = base / "partners"
        self.env = {
            "RCS_FTP_PORT": str(self.port),
            "RCS_FTP_ROOT": str(self.root),
            "RCS_FTP_STATE_DIR": str(base / "state"),
            "RCS_FTP_CERT_FILE": str(base / "cert.pem"),
            "RCS_FTP_KEY_FILE": str(base / "key.pem"),
            "RCS_FTP_SCAN_INTERVAL_SECONDS": "0.2",
            "RCS_FTP_DELIVERY_REPORTS": "true",
            "RCS_FTP_DELIVERY_DELAY_SECONDS": "1",
            **env,
        }

    def start(self) -> None:
        self.inst.start_as("ftp", "ftp", self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.inst.procs["ftp"].poll() is not None:
                raise RuntimeError(f"ftp gateway exited:\n{self.inst.logs()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"ftp gateway not listening:\n{self.inst.logs()}")

    def client(self, login: str = "demo", password: str = "demo") -> ftplib.FTP_TLS:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ftp = ftplib.FTP_TLS(context=ctx, timeout=15)
        ftp.connect("127.0.0.1", self.port)
        try:
            ftp.login(login, password)
            ftp.prot_p()
        except BaseException:
            ftp.close()
            raise
        return ftp

    def upload(self, name: str, data: bytes, *, login: str = "demo") -> None:
        """As the docs say: written as .loading, then renamed to .data."""
        ftp = self.client(login, login if login == "demo" else "acme-pass-1")
        try:
            ftp.storbinary(f"STOR in/{name}.loading", io.BytesIO(data))
            ftp.rename(f"in/{name}.loading", f"in/{name}.data")
        finally:
            ftp.quit()

    def curl_upload(self, local: Path, name: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [
                "curl",
                "-sS",
                "--ssl-reqd",
                "-k",
                "-T",
                str(local),
                f"ftp://demo:demo@127.0.0.1:{self.port}/in/{name}.loading",
                "-Q",
                f"-RNFR {name}.loading",
                "-Q",
                f"-RNTO {name}.data",
            ],
            capture_output=True,
            timeout=30,
            check=False,
        )

    def fetch(self, path: str, *, login: str = "demo", within: float = 30) -> bytes:
        """A file from the partner's home over FTPS, waiting for it to appear."""
        deadline = time.monotonic() + within
        while True:
            ftp = self.client(login, login if login == "demo" else "acme-pass-1")
            try:
                buf = io.BytesIO()
                ftp.retrbinary(f"RETR {path}", buf.write)
                return buf.getvalue()
            except ftplib.error_perm:
                if time.monotonic() > deadline:
                    raise
            finally:
                ftp.quit()
            time.sleep(0.2)


def report_time(body: bytes) -> str:
    found = REPORT_TIME.search(body)
    assert found is not None, body
    return found.group(0).decode()


def query(dsn: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return list(conn.execute(sql, args).fetchall())


@contextlib.contextmanager
def module_database(template: str) -> Iterator[str]:
    """A fresh migrated database for a whole test module (as conftest's per test)."""
    admin = _admin_dsn()
    name = f"rcs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _dsn_for(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
