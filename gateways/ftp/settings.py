"""Settings of the FTP gateway process (``RCS_*`` env vars)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, model_validator

from rcs_runtime.settings import RcsSettings


class FtpSettings(RcsSettings):
    ftp_host: str = "127.0.0.1"
    ftp_port: int = Field(default=2121, ge=0, le=65535)
    # Passive data ports "first-last"; empty: any free port.
    ftp_passive_ports: str = ""
    # The address PASV replies name when partners reach the gateway through NAT; empty:
    # the address they connected to.
    ftp_masquerade_address: str = ""
    # Partners' homes: <root>/<login>/in (uploads) and <root>/<login>/archive (results).
    ftp_root: Path = Path(".data/ftp/partners")
    # The gateway's own bookkeeping (uploads in progress, delivery reports owed), outside
    # every partner's home; empty: "<root>.state".
    ftp_state_dir: Path | None = None
    # TLS certificate and key (PEM); when the files are missing a self-signed pair is
    # generated there at start-up.
    ftp_cert_file: Path = Path(".data/ftp/cert.pem")
    ftp_key_file: Path = Path(".data/ftp/key.pem")
    # Explicit FTPS (AUTH TLS) required for logins and data (false only for tests of
    # plain clients; never in production).
    ftp_tls_required: bool = True
    ftp_max_connections: int = Field(default=256, ge=1)
    ftp_scan_interval_seconds: float = Field(default=1.0, gt=0)
    # Partners whose files are loaded at the same time (each partner's files one after
    # another, in upload order): a big file delays only its own partner's next ones.
    ftp_scan_concurrency: int = Field(default=4, ge=1)
    # Which partners get .delivery files (Rapporto enables them per client): "true" or "*"
    # every partner, "false" or empty none, else comma-separated logins. Written
    # RCS_FTP_DELIVERY_DELAY_SECONDS after a mailing ended (Rapporto: a day).
    ftp_delivery_reports: str = "false"
    ftp_delivery_delay_seconds: float = Field(default=86400.0, ge=0)
    # Zone of the date/time in .report files.
    ftp_report_time_zone: str = "Europe/Moscow"
    # Messages fed per second by mailings loaded over FTP; 0: core's default.
    ftp_mailing_rate: int = Field(default=0, ge=0)
    core_target: str = "127.0.0.1:50051"
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)

    @property
    def state_dir(self) -> Path:
        return self.ftp_state_dir or self.ftp_root.with_name(self.ftp_root.name + ".state")

    def passive_ports(self) -> range | None:
        if not self.ftp_passive_ports:
            return None
        first, _, last = self.ftp_passive_ports.partition("-")
        return range(int(first), int(last or first) + 1)

    def delivery_reports_for(self, login: str) -> bool:
        value = self.ftp_delivery_reports.strip().lower()
        if value in ("true", "*", "yes", "1"):
            return True
        if value in ("false", "", "no", "0"):
            return False
        return login.lower() in self._delivery_logins()

    def _delivery_logins(self) -> set[str]:
        return {x.strip().lower() for x in self.ftp_delivery_reports.split(",") if x.strip()}

    @property
    def any_delivery_reports(self) -> bool:
        return self.ftp_delivery_reports.strip().lower() not in ("false", "", "no", "0")

    def report_zone(self) -> ZoneInfo:
        return ZoneInfo(self.ftp_report_time_zone)

    @model_validator(mode="after")
    def _check(self) -> FtpSettings:
        try:
            self.report_zone()
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"RCS_FTP_REPORT_TIME_ZONE {self.ftp_report_time_zone!r} is not an IANA zone"
            ) from exc
        try:
            ports = self.passive_ports()
        except ValueError as exc:
            raise ValueError("RCS_FTP_PASSIVE_PORTS must be like 30000-30100") from exc
        if ports is not None and (not ports or ports.start < 1024 or ports.stop > 65536):
            raise ValueError("RCS_FTP_PASSIVE_PORTS must be a range within 1024-65535")
        return self
