"""Kannel (Debian package ``kannel``) as an ESME of our SMPP gateway: one bearerbox and one
smsbox as child processes, configured from a kannel.conf written into a temporary directory.

bearerbox binds (transceiver) to the SMPP host/port given; smsbox serves Kannel's sendsms
HTTP interface. Every port is a free one (no clash with a system Kannel on 13000-13013), every
log goes to the directory, and ``tail()`` gives the end of each for assertion messages.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import free_port

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
SMSC_ID = "rcs"


def installed() -> bool:
    return all(shutil.which(p) for p in (BEARERBOX, SMSBOX))


@dataclass(frozen=True, slots=True)
class SmscStatus:
    """One smsc of bearerbox's status.xml."""

    id: str
    status: str  # "online 12s", "connecting", "re-connecting", "dead", ...
    sms_received: int
    sms_sent: int
    dlr_received: int
    failed: int
    queued: int

    @property
    def online(self) -> bool:
        return self.status.startswith("online")


@dataclass
class LoggedPdu:
    """One PDU as bearerbox dumped it in the smsc log (log-level 0)."""

    direction: str  # "sent" by Kannel or "received" by Kannel
    type_name: str
    ints: dict[str, int] = field(default_factory=dict)  # command_status, esm_class, TLVs ...
    strings: dict[str, str] = field(default_factory=dict)  # C strings; NULL is ""
    octets: dict[str, bytes] = field(default_factory=dict)  # short_message, message_payload


_LOG_LINE = re.compile(r"\S+ \S+ \[\d+\] \[\d+\] DEBUG: (.*)")
_DUMP_START = re.compile(r"SMPP PDU 0x[0-9a-f]+ dump:")
_INT_FIELD = re.compile(r"  (\w+): (\d+) = 0x[0-9a-f]+")
_STR_FIELD = re.compile(r'  (\w+): "(.*)"')
_NULL_FIELD = re.compile(r"  (\w+): NULL")
_OCTET_FIELD = re.compile(r"  (\w+):")
_HEX = re.compile(r"[0-9a-f]{2}")


def parse_pdu_dumps(log: str) -> list[LoggedPdu]:
    """Every PDU dump of a Kannel SMPP log, in order. A dump follows "Sending PDU:" (Kannel
    sent it) or "Got PDU:" (Kannel received it); octet strings are dumped as rows of
    "data: <up to 16 hex octets> <ascii>", read back here into bytes."""
    pdus: list[LoggedPdu] = []
    direction = ""
    current: LoggedPdu | None = None
    octet_field: str | None = None
    for raw in log.splitlines():
        m = _LOG_LINE.fullmatch(raw)
        if m is None:
            continue
        line = m.group(1)
        if current is None:
            if line.endswith("Sending PDU:"):
                direction = "sent"
            elif line.endswith("Got PDU:"):
                direction = "received"
            elif _DUMP_START.fullmatch(line):
                current = LoggedPdu(direction, "")
            continue
        if octet_field is not None:
            content = line.strip()
            if content == "Octet string dump ends.":
                octet_field = None
            elif content.startswith("data: "):
                hex_part = content[len("data: ") : len("data: ") + 16 * 3]
                current.octets[octet_field] += bytes.fromhex("".join(_HEX.findall(hex_part)))
            continue
        if line == "SMPP PDU dump ends.":
            pdus.append(current)
            current = None
        elif line.startswith("  type_name: "):
            current.type_name = line.split(": ", 1)[1]
        elif f := _INT_FIELD.fullmatch(line):
            current.ints[f.group(1)] = int(f.group(2))
        elif f := _STR_FIELD.fullmatch(line):
            current.strings[f.group(1)] = f.group(2)
        elif f := _NULL_FIELD.fullmatch(line):
            current.strings[f.group(1)] = ""
        elif f := _OCTET_FIELD.fullmatch(line):
            octet_field = f.group(1)
            current.octets[octet_field] = b""
    return pdus


@dataclass
class Kannel:
    workdir: Path
    smpp_host: str
    smpp_port: int
    system_id: str
    password: str  # SMPP passwords are at most 8 characters
    system_type: str = "KANNEL"
    admin_password: str = "adm1n"
    sendsms_user: str = "tester"
    sendsms_password: str = "s3nd"
    max_messages: int = 10  # parts one sendsms may be split into
    max_pending_submits: int = 10  # Kannel's SMPP window; 1: each part waits for its resp
    enquire_link_interval: int = 30  # seconds
    admin_port: int = field(default_factory=free_port)
    smsbox_port: int = field(default_factory=free_port)
    sendsms_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        return self.workdir / "kannel.conf"

    def config(self) -> str:
        d = self.workdir
        return f"""\
group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = {self.admin_password}
status-password = {self.admin_password}
admin-allow-ip = "127.0.0.1"
smsbox-port = {self.smsbox_port}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{d / "bearerbox.log"}"
log-level = 0
access-log = "{d / "bearerbox-access.log"}"
dlr-storage = internal
sms-resend-retry = 0

group = smsc
smsc = smpp
smsc-id = {SMSC_ID}
host = {self.smpp_host}
port = {self.smpp_port}
transceiver-mode = true
smsc-username = "{self.system_id}"
smsc-password = "{self.password}"
system-type = "{self.system_type}"
interface-version = 34
source-addr-autodetect = true
dest-addr-ton = 1
dest-addr-npi = 1
reconnect-delay = 1
enquire-link-interval = {self.enquire_link_interval}
max-pending-submits = {self.max_pending_submits}
log-file = "{d / "smsc-rcs.log"}"
log-level = 0

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.smsbox_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{d / "smsbox.log"}"
log-level = 0
access-log = "{d / "smsbox-access.log"}"

group = sendsms-user
username = {self.sendsms_user}
password = {self.sendsms_password}
user-allow-ip = "127.0.0.1"
max-messages = {self.max_messages}
concatenation = true
"""

    # -- processes --------------------------------------------------------------------------

    def start(self, timeout: float = 30) -> None:
        """bearerbox, then (smsbox panics when bearerbox is not listening yet) smsbox, then
        wait until the smsc is online (bound to our gateway), smsbox connected to bearerbox
        and its sendsms port answering. Raises with the logs' tails when not in ``timeout``."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config())
        deadline = time.monotonic() + timeout
        self._spawn("bearerbox", BEARERBOX)
        self._wait("bearerbox's admin interface", self._bearerbox_up, deadline)
        self._spawn("smsbox", SMSBOX)
        self._wait("the smsc online and smsbox connected", self._ready, deadline)

    def _spawn(self, name: str, binary: str) -> None:
        with (self.workdir / f"{name}.out").open("ab") as out:
            self.procs[name] = subprocess.Popen(
                # -v 4: only panics on stderr; everything else is in the log files
                [binary, "-v", "4", str(self.config_path)],
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        """smsbox first (it would reconnect), then bearerbox; SIGTERM is Kannel's graceful
        shutdown, SIGKILL after 10 s."""
        for name in ("smsbox", "bearerbox"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def dead(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is not None]

    # -- bearerbox's admin interface --------------------------------------------------------

    def _admin(self, command: str, **params: str) -> str:
        query = urllib.parse.urlencode({"password": self.admin_password, **params})
        url = f"http://127.0.0.1:{self.admin_port}/{command}?{query}"
        with urllib.request.urlopen(url, timeout=2) as r:
            return bytes(r.read()).decode("utf-8", "replace")

    def status_xml(self) -> ET.Element:
        return ET.fromstring(self._admin("status.xml"))

    def smsc(self) -> SmscStatus | None:
        """The smsc's line of the status page; None while bearerbox does not answer."""
        try:
            root = self.status_xml()
        except (OSError, ET.ParseError):
            return None
        for node in root.iter("smsc"):
            if (node.findtext("id") or "") != SMSC_ID:
                continue

            def count(path: str, node: ET.Element = node) -> int:
                text = node.findtext(path) or "0"
                return int(text) if text.isdigit() else 0

            return SmscStatus(
                id=SMSC_ID,
                status=(node.findtext("status") or "").strip(),
                sms_received=count("sms/received"),
                sms_sent=count("sms/sent"),
                dlr_received=count("dlr/received"),
                failed=count("failed"),
                queued=count("queued"),
            )
        return None

    def smsbox_connected(self) -> bool:
        try:
            root = self.status_xml()
        except (OSError, ET.ParseError):
            return False
        return any((box.findtext("type") or "") == "smsbox" for box in root.iter("box"))

    def _wait(self, what: str, ready: Callable[[], bool], deadline: float) -> None:
        while not ready():
            if self.dead():
                raise RuntimeError(
                    f"Kannel {self.dead()} exited, waiting for {what}\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Kannel: no {what} in time (smsc: {self.smsc()})\n{self.tail()}"
                )
            time.sleep(0.2)

    def _bearerbox_up(self) -> bool:
        return self.smsc() is not None

    def _ready(self) -> bool:
        smsc = self.smsc()
        return smsc is not None and smsc.online and self.smsbox_connected() and self._sendsms_up()

    def _sendsms_up(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.sendsms_port}/", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True  # smsbox answers (404 for an unknown path)
        except OSError:
            return False

    # -- sendsms ----------------------------------------------------------------------------

    def sendsms_url(self, params: Mapping[str, str]) -> str:
        """The sendsms URL with the user's credentials and ``params``, every value
        percent-encoded (so a dlr-url keeps its ``%d``/``%F`` escapes for Kannel)."""
        query = urllib.parse.urlencode(
            {"username": self.sendsms_user, "password": self.sendsms_password, **params},
            quote_via=urllib.parse.quote,
        )
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms?{query}"

    def smsc_pdus(self) -> list[LoggedPdu]:
        """What bearerbox sent to and received from our gateway, from its smsc log."""
        return parse_pdu_dumps((self.workdir / "smsc-rcs.log").read_text(errors="replace"))

    # -- diagnostics ------------------------------------------------------------------------

    def tail(self, chars: int = 4000) -> str:
        out = []
        for name in (
            "bearerbox.out",
            "bearerbox.log",
            "smsc-rcs.log",
            "smsbox.out",
            "smsbox.log",
            "smsbox-access.log",
        ):
            path = self.workdir / name
            with contextlib.suppress(OSError):
                out.append(f"--- kannel {name}\n" + path.read_text(errors="replace")[-chars:])
        return "\n".join(out)
