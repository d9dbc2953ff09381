"""TLS for the partner-facing listeners (REST gateway, SMPP gateway), beside their plain
ports: a certificate chain and key in PEM files, and optionally a CA whose certificates
clients must present (mutual TLS). TLS 1.2 at least; Python's default ciphers."""

from __future__ import annotations

import ssl
from pathlib import Path


class TlsConfigError(ValueError):
    """A TLS setting that cannot work, said so at start-up."""


def server_context(cert: str, key: str, client_ca: str = "") -> ssl.SSLContext:
    """The server side's context; TlsConfigError naming the setting when a file is missing
    or does not load."""
    for name, path in (("certificate", cert), ("key", key), ("client CA", client_ca)):
        if path and not Path(path).is_file():
            raise TlsConfigError(f"TLS {name} file {path!r} does not exist")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as err:
        raise TlsConfigError(
            f"TLS certificate {cert!r} and key {key!r} do not load: {err}"
        ) from err
    if client_ca:
        try:
            context.load_verify_locations(client_ca)
        except (ssl.SSLError, OSError) as err:
            raise TlsConfigError(f"TLS client CA {client_ca!r} does not load: {err}") from err
        context.verify_mode = ssl.CERT_REQUIRED
    return context
