"""The base of every process's settings object: ``RCS_*`` environment variables, frozen."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from rcs_runtime.peer_tls import MutualTls


class RcsSettings(BaseSettings):
    """Common fields; each process subclasses it with its own and parses it once in __main__."""

    model_config = SettingsConfigDict(env_prefix="RCS_", frozen=True, extra="ignore")

    installation_id: int = 1
    log_level: str = "INFO"
    log_json: bool = True
    metrics_port: int = 0  # 0: no Prometheus endpoint
    trace_export: str = "none"  # none | console
    # CPU priority (Unix nice, 0-19). The delivery side (dispatcher, connector, report
    # sender) at 10 lets the accepting side (gateways, core) go first on a busy host:
    # messages wait durably in the queue meanwhile, submit_sm_resp does not.
    nice: int = Field(default=0, ge=0, le=19)
    # Mutual TLS between installations (core's peer port, the cluster agent, etcd): PEM files
    # of the cluster's CA and of this process's certificate and key; all empty: none.
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""

    def mutual_tls(self) -> MutualTls | None:
        return MutualTls.load(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)


class DatabaseSettings(RcsSettings):
    database_url: str = "postgresql://rcs@127.0.0.1:5432/rcs"
    db_pool_min: int = 2
    db_pool_max: int = 10
    # Streaming replica for reads that may be a little stale (rcs_runtime/replica.py);
    # empty: all reads on the master. Beyond the lag (or down) reads fall back to the master.
    replica_database_url: str = ""
    replica_max_lag_seconds: float = Field(default=30.0, gt=0)
    replica_check_seconds: float = Field(default=2.0, ge=0)
