"""A throwaway certificate authority for the mutual-TLS tests, made with the openssl command
(Debian's `openssl`, installed by scripts/test-services.sh): the cluster's CA, one node
certificate (server and client, for 127.0.0.1 and localhost) and a stranger's certificate
signed by another CA."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_EXT = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _key_and_csr(cwd: Path, name: str) -> None:
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=rcs-{name}", cwd=cwd,
    )  # fmt: skip


def _ca(cwd: Path, name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
        cwd=cwd,
    )  # fmt: skip


def _sign(cwd: Path, name: str, ca: str) -> None:
    (cwd / "ext.cnf").write_text(_EXT)
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", "ext.cnf", cwd=cwd,
    )  # fmt: skip


@dataclass(frozen=True)
class Pki:
    dir: Path

    @property
    def ca(self) -> Path:
        return self.dir / "ca.pem"

    def cert(self, name: str) -> Path:
        return self.dir / f"{name}.pem"

    def key(self, name: str) -> Path:
        return self.dir / f"{name}.key"

    def env(self, name: str = "node") -> dict[str, str]:
        """RCS_TLS_* for a process that holds ``name``'s certificate."""
        return {
            "RCS_TLS_CA_FILE": str(self.ca),
            "RCS_TLS_CERT_FILE": str(self.cert(name)),
            "RCS_TLS_KEY_FILE": str(self.key(name)),
        }


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    _ca(directory, "ca")
    _key_and_csr(directory, "node")
    _sign(directory, "node", "ca")
    _ca(directory, "other-ca")  # a stranger: a certificate, but not of our CA
    _key_and_csr(directory, "stranger")
    _sign(directory, "stranger", "other-ca")
    return Pki(directory)
