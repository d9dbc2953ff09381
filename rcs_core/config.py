"""Settings of the core process (``RCS_*`` env vars)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import model_validator

from rcs_runtime.settings import DatabaseSettings


class CoreSettings(DatabaseSettings):
    core_bind: str = "127.0.0.1:50051"
    # The port other installations of a cluster reach (settings sync), over mutual TLS with
    # RCS_TLS_*; empty: none (they then use core_bind, unauthenticated: a private network).
    core_peer_bind: str = ""
    routing_target: str = "127.0.0.1:50052"
    connector_target: str = "127.0.0.1:50053"
    # Failed logins (any gateway, administrators too), counted within the window per
    # (login, address) and per address (auth_guard.py): from the limit on, each further
    # attempt of that login at that address (or from that address) waits a delay doubling
    # per failure, from the base up to the max, after the last failure (THROTTLED).
    auth_max_failures: int = 10
    auth_max_failures_per_address: int = 50
    auth_failure_window_seconds: float = 300.0
    auth_delay_base_seconds: float = 1.0
    auth_delay_max_seconds: float = 60.0
    # Dispatcher: 0 workers runs core without dispatching (dispatch in another process).
    dispatcher_workers: int = 2
    dispatcher_batch: int = 25
    dispatcher_poll_seconds: float = 1.0
    # Share of each batch reserved per priority ("priority:weight,..."), so a backlog of
    # high priority never starves low priority; empty = strict priority order.
    dispatcher_priority_shares: str = "2:6,1:3,0:1"
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 60.0
    connector_timeout_seconds: float = 30.0
    # Channels other than SMS skip routing and go to the ConnectorService of the service
    # that owns them: CHANNEL_PUSH to rcs_rpns at this address, as this interface id
    # (the one rpns names in its receipts).
    push_target: str = "127.0.0.1:50055"
    push_interface_id: str = "rpns"
    # CHANNEL_VIBER to the messenger service (rcs_messengers), as this interface id.
    messengers_target: str = "127.0.0.1:50056"
    messengers_interface_id: str = "messengers"
    # Cascade engine (in the dispatcher process): loops, cascades decided per transaction,
    # and how often it looks for due timers when no NOTIFY woke it.
    cascade_workers: int = 1
    cascade_batch: int = 50
    cascade_poll_seconds: float = 1.0
    # Receipts that never come: a SENT message this long past its validity becomes EXPIRED.
    receipt_grace_seconds: int = 3600
    # Receipts parked here (operator id unknown) are offered to the cluster's other
    # installations (cluster_peers): after this grace for our own submit_sm_resp, then again
    # with backoff doubling up to the max; the loop looks every interval (0: not in this
    # process). A lone installation has no peers and forwards nothing.
    receipt_forward_interval_seconds: float = 1.0
    receipt_forward_grace_seconds: float = 2.0
    receipt_forward_max_backoff_seconds: float = 30.0
    receipt_forward_batch: int = 500
    receipt_forward_timeout_seconds: float = 5.0
    # Reports to partners (deliver_sm receipts, HTTP callbacks): retried with backoff from
    # base to max; one nobody took within the max age is dropped, counted and logged.
    report_retry_base_seconds: float = 5.0
    report_retry_max_seconds: float = 600.0
    report_max_age_hours: float = 72.0
    # HTTP reports (status callbacks, MO over HTTP) are sent from the dispatcher process by
    # this many sender loops (0: none here), each with at most this many requests in flight;
    # a partner has this long to answer (http_mo.rst's default is 10 s). Dates in reports
    # ("…T10:20:35+0300") are written in this IANA zone.
    report_senders: int = 1
    # 16 in flight carry well over 1,000 callbacks/s to a partner that answers within
    # 16 ms; a partner whose server hangs holds 16 of the 64 and the others go on.
    report_sender_concurrency: int = 64
    report_sender_per_partner: int = 16  # of those, to one partner at most
    report_sender_timeout_seconds: float = 10.0
    report_time_zone: str = "UTC"
    # A message split by the partner whose parts stop coming for this long is stored
    # REJECTED with what arrived (its id was handed out with the first part).
    submit_parts_timeout_seconds: float = 300.0
    # Push-back (issue 15): with this many messages waiting for dispatch, submits are
    # refused QUEUE_FULL (HTTP 503 + Retry-After, SMPP 0x14) until the queue drains; 0: none.
    max_queue_depth: int = 1_000_000
    # Mailings: messages fed per second by a mailing that names no rate, and how often
    # core's feeder looks for running mailings (0: no feeder in this process).
    mailing_default_rate: int = 100
    mailing_feed_interval_seconds: float = 0.2
    partitions_ahead_days: int = 3
    retention_days: int = 30
    # The audit log (settings changes, logins, API keys) is kept longer than the traffic.
    audit_retention_days: int = 400
    maintenance_interval_seconds: float = 60.0

    @model_validator(mode="after")
    def _check(self) -> CoreSettings:
        if self.retention_days < 2:
            raise ValueError("RCS_RETENTION_DAYS must be at least 2 (yesterday's partition)")
        if self.audit_retention_days < self.retention_days:
            raise ValueError(
                "RCS_AUDIT_RETENTION_DAYS must be at least RCS_RETENTION_DAYS: the audit log"
                " outlives the messages"
            )
        if self.receipt_forward_batch < 1 or not (
            0 < self.receipt_forward_grace_seconds <= self.receipt_forward_max_backoff_seconds
        ):
            raise ValueError(
                "RCS_RECEIPT_FORWARD_BATCH must be at least 1 and RCS_RECEIPT_FORWARD_GRACE_SECONDS"
                " positive and at most RCS_RECEIPT_FORWARD_MAX_BACKOFF_SECONDS"
            )
        if self.dispatcher_batch < 1:
            raise ValueError("RCS_DISPATCHER_BATCH must be at least 1")
        if min(self.auth_max_failures, self.auth_max_failures_per_address) < 1:
            raise ValueError(
                "RCS_AUTH_MAX_FAILURES and RCS_AUTH_MAX_FAILURES_PER_ADDRESS must be at least 1"
            )
        if not 0 < self.auth_delay_base_seconds <= self.auth_delay_max_seconds:
            raise ValueError(
                "RCS_AUTH_DELAY_BASE_SECONDS must be positive and at most"
                " RCS_AUTH_DELAY_MAX_SECONDS"
            )
        self.priority_shares()  # fail at start-up, with the reason
        if self.report_senders < 0 or self.report_sender_concurrency < 1:
            raise ValueError(
                "RCS_REPORT_SENDERS must be 0 or more and RCS_REPORT_SENDER_CONCURRENCY 1 or more"
            )
        if self.max_queue_depth < 0:
            raise ValueError("RCS_MAX_QUEUE_DEPTH must be 0 (no limit) or more")
        if self.report_sender_per_partner < 1:
            raise ValueError("RCS_REPORT_SENDER_PER_PARTNER must be at least 1")
        if self.report_sender_timeout_seconds <= 0:
            raise ValueError("RCS_REPORT_SENDER_TIMEOUT_SECONDS must be positive")
        self.report_zone()
        if self.core_peer_bind and self.mutual_tls() is None:
            raise ValueError(
                "RCS_CORE_PEER_BIND serves other installations over mutual TLS: set"
                " RCS_TLS_CA_FILE, RCS_TLS_CERT_FILE and RCS_TLS_KEY_FILE too"
            )
        if self.mailing_default_rate < 1:
            raise ValueError("RCS_MAILING_DEFAULT_RATE must be at least 1 (messages a second)")
        return self

    def priority_shares(self) -> dict[int, int]:
        shares: dict[int, int] = {}
        for item in filter(None, (p.strip() for p in self.dispatcher_priority_shares.split(","))):
            priority, _, weight = item.partition(":")
            try:
                p, w = int(priority), int(weight)
            except ValueError:
                p, w = -1, -1
            if p not in (0, 1, 2) or w < 1:
                raise ValueError(
                    f"RCS_DISPATCHER_PRIORITY_SHARES item {item!r}: use priority:weight with "
                    "priority 0-2 and weight >= 1, e.g. 2:6,1:3,0:1"
                )
            shares[p] = w
        return shares

    def report_zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.report_time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"RCS_REPORT_TIME_ZONE {self.report_time_zone!r} is not an IANA time zone"
                " (e.g. UTC, Europe/Moscow)"
            ) from exc
