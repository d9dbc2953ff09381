"""Settings of the push service (``RCS_RPNS_*``, plus the common database and core ones)."""

from __future__ import annotations

from pydantic import model_validator

from rcs_runtime.settings import DatabaseSettings


class RpnsSettings(DatabaseSettings):
    rpns_bind: str = "127.0.0.1:50055"  # ConnectorService, DeviceService, AppService
    rpns_sdk_host: str = "127.0.0.1"
    rpns_sdk_port: int = 8090  # the mobile SDK's REST endpoints
    core_target: str = "127.0.0.1:50051"
    # The interface core knows rpns by: receipts name it, so core matches push ids in it.
    rpns_interface_id: str = "rpns"
    # Push services. The defaults are the real ones; make run and the tests point them at
    # the PNS simulator. An empty CA file means the system's trust store.
    rpns_apns_url: str = "https://api.push.apple.com"
    rpns_apns_ca_file: str = ""
    rpns_fcm_url: str = "https://fcm.googleapis.com"
    rpns_fcm_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
    rpns_hms_url: str = "https://push-api.cloud.huawei.com"
    rpns_hms_token_url: str = "https://oauth-login.cloud.huawei.com/oauth2/v3/token"  # noqa: S105 (a URL)
    rpns_rustore_url: str = "https://vkpns.rustore.ru"
    rpns_provider_ca_file: str = ""  # CA of FCM, HMS and RuStore's endpoints
    rpns_provider_timeout_seconds: float = 10.0
    # Sender: deliveries claimed per round, requests in flight, and how long a claimed
    # delivery is this process's before another may take it (a crashed sender's).
    rpns_send_batch: int = 500
    rpns_send_concurrency: int = 64
    # Rounds in flight: the next is claimed while one waits for its slowest request.
    rpns_send_rounds: int = 2
    # Most HTTP/2 connections to APNs: streams are multiplexed on one, and another opens
    # only when every one is at APNs's MAX_CONCURRENT_STREAMS. The HTTP/1.1 services get
    # one connection per send in flight (RCS_RPNS_SEND_CONCURRENCY).
    rpns_http_connections: int = 16
    # A claimed delivery is another sender's after this (a sender killed mid-send): above
    # the provider timeout, and well under the shortest push TTL (30 s, rest_push.rst), so
    # that a push claimed at a crash is still sent in time.
    rpns_send_lease_seconds: float = 15.0
    rpns_poll_seconds: float = 0.2
    # Transient failures (quota, 5xx) wait the service's Retry-After, or this backoff
    # doubling from base to max; after max_attempts the delivery fails (code 28).
    rpns_retry_base_seconds: float = 1.0
    rpns_retry_max_seconds: float = 60.0
    rpns_max_attempts: int = 8
    # Receipts to core: up to this many per RecordReceipts call.
    rpns_receipt_batch: int = 200

    @model_validator(mode="after")
    def _check(self) -> RpnsSettings:
        if self.rpns_send_lease_seconds <= self.rpns_provider_timeout_seconds:
            raise ValueError(
                "RCS_RPNS_SEND_LEASE_SECONDS must exceed RCS_RPNS_PROVIDER_TIMEOUT_SECONDS:"
                " a delivery still being sent would be claimed and sent again"
            )
        if self.rpns_send_rounds < 1 or self.rpns_send_concurrency < 1:
            raise ValueError("RCS_RPNS_SEND_ROUNDS and RCS_RPNS_SEND_CONCURRENCY must be >= 1")
        if not 0 < self.rpns_retry_base_seconds <= self.rpns_retry_max_seconds:
            raise ValueError("need 0 < RCS_RPNS_RETRY_BASE_SECONDS <= RCS_RPNS_RETRY_MAX_SECONDS")
        return self
