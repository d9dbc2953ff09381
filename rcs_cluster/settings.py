"""Settings of the cluster agent (``RCS_*`` env vars)."""

from __future__ import annotations

from pydantic import model_validator

from rcs_runtime.settings import DatabaseSettings


class ClusterSettings(DatabaseSettings):
    # The cluster this installation belongs to; its keys live under /rcs/v1/clusters/<name>/.
    cluster_name: str = "main"
    # etcd client URLs, "host:port,host:port"; empty: a lone installation, its own master.
    etcd_endpoints: str = ""
    # Patroni's timing model: the lease lives ttl seconds; the agent acts every loop_wait
    # seconds and gives up on an etcd or core call after retry_timeout. A master that could
    # not renew for ttl - (loop_wait + retry_timeout) fences itself, before the lease ends.
    cluster_ttl_seconds: int = 10
    cluster_loop_wait_seconds: float = 1.0
    cluster_retry_timeout_seconds: float = 3.0
    # This agent's ClusterService, and this installation's core (advertised to the others,
    # which pull settings from the master's).
    cluster_bind: str = "127.0.0.1:50055"
    core_target: str = "127.0.0.1:50051"
    cluster_core_endpoint: str = ""  # what the others dial; empty: core_target
    cluster_agent_endpoint: str = ""  # what `rcs cluster` dials; empty: cluster_bind
    # Change capture for the DWH (issue 20): Kafka Connect's REST URL; empty: the agent does
    # not manage capture. When set, the agent keeps the installation's Debezium connector and
    # switches what it captures with the role (master: settings and transactions; standby:
    # transactions only).
    cluster_capture_connect_url: str = ""
    # The installation's database as Kafka Connect reaches it (a user with REPLICATION);
    # empty: RCS_DATABASE_URL.
    cluster_capture_database_url: str = ""
    # First part of the topic names (<root>.i<installation>.public.<table>); never change it
    # once the connector ran.
    cluster_capture_topic_root: str = "rcs"

    @model_validator(mode="after")
    def _check(self) -> ClusterSettings:
        if not self.cluster_name or "/" in self.cluster_name:
            raise ValueError("RCS_CLUSTER_NAME must be a non-empty name without '/'")
        if self.etcd_endpoints:
            budget = self.cluster_loop_wait_seconds + 2 * self.cluster_retry_timeout_seconds
            if budget > self.cluster_ttl_seconds:
                raise ValueError(
                    "RCS_CLUSTER_LOOP_WAIT_SECONDS + 2 x RCS_CLUSTER_RETRY_TIMEOUT_SECONDS"
                    f" ({budget:g} s) must not exceed RCS_CLUSTER_TTL_SECONDS"
                    f" ({self.cluster_ttl_seconds} s): a master could lose its lease before"
                    " it notices; raise the TTL or lower the other two"
                )
            if self.cluster_loop_wait_seconds <= 0 or self.cluster_retry_timeout_seconds <= 0:
                raise ValueError(
                    "RCS_CLUSTER_LOOP_WAIT_SECONDS and RCS_CLUSTER_RETRY_TIMEOUT_SECONDS must be"
                    " positive"
                )
        return self

    @property
    def endpoints(self) -> list[str]:
        return [e.strip() for e in self.etcd_endpoints.split(",") if e.strip()]

    @property
    def advertised_core(self) -> str:
        return self.cluster_core_endpoint or self.core_target

    @property
    def advertised_agent(self) -> str:
        return self.cluster_agent_endpoint or self.cluster_bind
