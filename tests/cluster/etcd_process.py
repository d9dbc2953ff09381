"""A real etcd (Debian's `etcd-server`) as a child process on free ports, with its own data
directory, so that a test can kill it and start it again on the same data."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port


def unique_port() -> int:
    """A free port not handed out before in this run (servers here may bind with
    SO_REUSEPORT: two given the same port would both listen on it). free_port() hands each
    port out once per pass over its range, and its test bind, made without SO_REUSEPORT,
    fails on a port such a server still holds."""
    return free_port()


@dataclass
class EtcdProcess:
    data_dir: Path
    client_port: int = field(default_factory=unique_port)
    peer_port: int = field(default_factory=unique_port)
    proc: subprocess.Popen[bytes] | None = None
    # (CA, certificate, key): clients must present a certificate of that CA (mutual TLS).
    tls: tuple[Path, Path, Path] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def _health_context(self) -> ssl.SSLContext | None:
        if self.tls is None:
            return None
        ca, cert, key = self.tls
        context = ssl.create_default_context(cafile=str(ca))
        context.load_cert_chain(str(cert), str(key))
        return context

    def start(self) -> None:
        binary = shutil.which("etcd")
        if binary is None:
            pytest.fail("etcd is not installed: run `scripts/test-services.sh up` (make test does)")
        scheme = "https" if self.tls else "http"
        url = f"{scheme}://127.0.0.1:{self.client_port}"
        security = []
        if self.tls is not None:
            ca, cert, key = self.tls
            security = [
                "--client-cert-auth",
                f"--trusted-ca-file={ca}",
                f"--cert-file={cert}",
                f"--key-file={key}",
            ]
        peer = f"http://127.0.0.1:{self.peer_port}"
        log = (self.data_dir.parent / "etcd.log").open("ab")
        self.proc = subprocess.Popen(
            [
                binary,
                "--name=test",
                f"--data-dir={self.data_dir}",
                f"--listen-client-urls={url}",
                f"--advertise-client-urls={url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=test={peer}",
                "--log-level=warn",
                *security,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"etcd exited with {self.proc.returncode}: see {log.name}")
            try:
                context = self._health_context()
                with urllib.request.urlopen(f"{url}/health", timeout=1, context=context) as r:
                    if b'"health":"true"' in r.read():
                        return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"etcd did not become healthy on {url} within 20 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
