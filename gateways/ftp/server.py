"""The FTP(S) server: pyftpdlib's TLS handler (explicit FTPS, AUTH TLS), one thread per
session, logins checked by core's AuthService (the partner's IP allowlist and the
failed-login limits come with it), each partner jailed in its own home:

    <root>/<login>/in        uploads: list, read, write, rename, delete
    <root>/<login>/archive   processed files and their .report / .delivery: list, read

pyftpdlib resolves every path (symlinks included) and refuses one outside the home; the
permissions below add the per-folder rules on the real path.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

from gateways.ftp.settings import FtpSettings
from gateways.ftp.uploads import Uploads

log = logging.getLogger(__name__)
# A login becomes a folder name: nothing that could leave <root> or hide (".", "..", "/").
SAFE_LOGIN = re.compile(r"[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,63}")
IN, ARCHIVE = "in", "archive"
_PERMS_IN = set("elrwadf")
_PERMS_ARCHIVE = set("elr")
_PERMS_HOME = set("el")

# Checks a login, password and address; returns None when allowed, else the reply text.
Authenticate = Callable[[str, str, str], "str | None"]


def partner_dirs(root: Path, login: str) -> tuple[Path, Path]:
    home = root / login
    return home / IN, home / ARCHIVE


def ensure_home(root: Path, login: str) -> Path:
    inbox, archive = partner_dirs(root, login)
    inbox.mkdir(parents=True, exist_ok=True)
    archive.mkdir(parents=True, exist_ok=True)
    return root / login


class CoreAuthorizer:
    """pyftpdlib's authorizer interface over core's AuthService."""

    def __init__(self, root: Path, authenticate: Authenticate) -> None:
        self._root = root.resolve()
        self._authenticate = authenticate

    def validate_authentication(self, username: str, password: str, handler: Any) -> None:
        if not SAFE_LOGIN.fullmatch(username):
            raise AuthenticationFailed("Authentication failed.")
        refused = self._authenticate(username, password, str(handler.remote_ip))
        if refused is not None:
            raise AuthenticationFailed(refused)
        ensure_home(self._root, username)

    def get_home_dir(self, username: str) -> str:
        return str(self._root / username)

    def has_user(self, username: str) -> bool:
        return bool(SAFE_LOGIN.fullmatch(username))

    def has_perm(self, username: str, perm: str, path: str | None = None) -> bool:
        if path is None:
            return perm in _PERMS_HOME
        home = self._root / username
        real = Path(os.path.realpath(path))
        if real == home:
            return perm in _PERMS_HOME
        if real.is_relative_to(home / IN):
            return perm in _PERMS_IN
        if real.is_relative_to(home / ARCHIVE):
            return perm in _PERMS_ARCHIVE
        return False

    def get_perms(self, username: str) -> str:
        return "".join(sorted(_PERMS_IN))

    def get_msg_login(self, username: str) -> str:
        return "Logged in. Upload to in/ as .loading, rename to .data; results in archive/."

    def get_msg_quit(self, username: str) -> str:
        return "Goodbye."

    def impersonate_user(self, username: str, password: str) -> None:
        """Files belong to the gateway's own OS user."""

    def terminate_impersonation(self, username: str) -> None:
        """Nothing to undo."""


def handler_class(s: FtpSettings, authorizer: CoreAuthorizer, uploads: Uploads) -> type[Any]:
    class Handler(TLS_FTPHandler):  # type: ignore[misc]
        certfile = str(s.ftp_cert_file)
        keyfile = str(s.ftp_key_file)
        tls_control_required = s.ftp_tls_required
        tls_data_required = s.ftp_tls_required
        passive_ports = s.passive_ports()
        masquerade_address = s.ftp_masquerade_address or None
        auth_failed_timeout = 1
        banner = "RCS FTP gateway ready (explicit FTPS: AUTH TLS)."

        def on_connect(self) -> None:
            self._rcs_uploads: set[Path] = set()

        def ftp_STOR(self, file: str, mode: str = "w") -> Any:  # noqa: N802 (pyftpdlib name)
            path = Path(file)
            if path.suffix == ".data" and path.exists() and not uploads.busy(path):
                # ftp_file_require.rst: a .data file is final; the scanner may be reading it.
                self.respond("550 A .data file cannot be overwritten or appended to.")
                return None
            uploads.begin(path)
            self._rcs_uploads.add(path)
            result = super().ftp_STOR(file, mode)
            if result is None:  # refused before any byte (no permission, bad REST)
                uploads.finished(path, complete=True)
                self._rcs_uploads.discard(path)
            return result

        def ftp_RNTO(self, path: str) -> Any:  # noqa: N802 (pyftpdlib name)
            src = self._rnfr
            if src is not None:
                uploads.renaming(Path(src), Path(path))
            result = super().ftp_RNTO(path)
            if src is not None and result is None:
                uploads.rename_failed(Path(src), Path(path))
            if result is not None and src is not None:
                uploads.renamed(Path(src), Path(path))
                if Path(src) in self._rcs_uploads:
                    self._rcs_uploads.discard(Path(src))
                    self._rcs_uploads.add(Path(path))
            return result

        def on_file_received(self, file: str) -> None:
            self._rcs_uploads.discard(Path(file))
            uploads.finished(Path(file), complete=True)

        def on_incomplete_file_received(self, file: str) -> None:
            self._rcs_uploads.discard(Path(file))
            uploads.finished(Path(file), complete=False)

        def on_disconnect(self) -> None:
            for path in list(getattr(self, "_rcs_uploads", ())):
                uploads.finished(path, complete=False)

        def on_login(self, username: str) -> None:
            log.info("ftp_login", extra={"login": username, "remote_ip": self.remote_ip})

        def on_login_failed(self, username: str, password: str) -> None:
            log.warning("ftp_login_refused", extra={"login": username, "remote_ip": self.remote_ip})

    Handler.authorizer = authorizer
    return Handler


class FtpServer:
    """pyftpdlib's threaded server, run in a thread of its own beside the event loop."""

    def __init__(self, s: FtpSettings, handler: type[Any]) -> None:
        self._server = ThreadedFTPServer((s.ftp_host, s.ftp_port), handler)
        self._server.max_cons = s.ftp_max_connections
        self.port = int(self._server.socket.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="ftp-server", daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._server.ioloop.loop(0.2, blocking=False)
        self._server.close_all()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def ensure_certificate(cert: Path, key: Path) -> None:
    """A self-signed certificate for 127.0.0.1 and localhost when none is configured."""
    if cert.exists() and key.exists():
        return
    cert.parent.mkdir(parents=True, exist_ok=True)
    key.parent.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rcs-ftp")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(private, hashes.SHA256())
    )
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(key, 0o600)
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    log.info("ftp_certificate_generated", extra={"cert": str(cert)})
