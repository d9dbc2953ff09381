"""Mutual TLS between installations of a cluster (issue 19 item 6): one CA, each process's
certificate and key, from settings. A gRPC server built with it refuses a peer that has no
certificate signed by that CA; a channel built with it presents ours and checks theirs.
(Partner-facing listeners use rcs_runtime.tls.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc


@dataclass(frozen=True, slots=True)
class MutualTls:
    ca: bytes
    cert: bytes
    key: bytes

    @staticmethod
    def load(ca_file: str, cert_file: str, key_file: str) -> MutualTls | None:
        """The three PEM files, or None when none is set; a partial or unreadable set is an
        error that names what to fix."""
        files = {"RCS_TLS_CA_FILE": ca_file, "RCS_TLS_CERT_FILE": cert_file}
        files["RCS_TLS_KEY_FILE"] = key_file
        if not any(files.values()):
            return None
        missing = [name for name, path in files.items() if not path]
        if missing:
            raise ValueError(f"mutual TLS needs all three files: set {', '.join(missing)} too")
        data = {}
        for name, path in files.items():
            try:
                data[name] = Path(path).read_bytes()
            except OSError as exc:
                raise ValueError(f"{name}={path}: cannot read it ({exc.strerror})") from exc
        return MutualTls(
            data["RCS_TLS_CA_FILE"], data["RCS_TLS_CERT_FILE"], data["RCS_TLS_KEY_FILE"]
        )

    def server_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)], root_certificates=self.ca, require_client_auth=True
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.key, certificate_chain=self.cert
        )
