"""The typed state of one row of each settings entity, as revisions record it (JSON, before
and after) and as rollback and cluster sync put it back. Field names are the API's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NotRequired, TypedDict

from rcs.core.v1 import message_service_pb2 as ms

# What every state is, seen without its entity (a revision's JSON, the restore loop).
RowState = Mapping[str, object]


class PartnerState(TypedDict):
    login: str
    password_hash: str
    default_sender: str
    default_ttl_seconds: int
    block_duplicates: bool
    duplicate_window_seconds: int
    allowed_subnets: list[str]
    report_url: str
    inbound_url: str
    max_smpp_sessions: int
    senders: list[str]
    smpp_password_hash: str | None
    smpp_standard_tlvs_only: bool
    service_type: str


class BlacklistState(TypedDict):
    partner: str  # "" for the installation-wide list
    number: str
    note: str
    # Mailings existing when listed keep the number (absent in revisions before 0100).
    keep_in_mailings: NotRequired[bool]


class WhitelistState(TypedDict):
    partner: str
    mailing: str
    number: str
    note: str


class OperatorState(TypedDict):
    name: str
    mcc: str
    mnc: str
    interface_ids: list[str]


class InterfaceState(TypedDict):
    id: str
    host: str
    port: int
    system_id: str
    password: str
    system_type: str
    window_size: int
    throughput_per_second: int
    enabled: bool


class VerificationPolicyState(TypedDict):
    inactive_threshold: int
    inactive_window_seconds: int
    inactive_ttl_seconds: int
    inactive_codes: list[int]


class DirectionState(TypedDict):
    name: str
    operator: str
    region: str
    source: str  # "manual" here: number-plan directions change by re-importing the plan
    prefixes: list[str]
    ranges: list[list[int]]  # [start, end] pairs, sorted, disjoint


class SenderNameState(TypedDict):
    name: str
    traffic_type: int
    operators: list[str]
    note: str


class RouteTargetState(TypedDict):
    interface_id: str
    weight: int


class RoutingRuleState(TypedDict):
    name: str
    priority: int
    enabled: bool
    action: str  # "route" | "reject"
    partner: str
    sender: str
    direction: str
    operator: str
    channel: str
    traffic_type: int | None
    note: str
    targets: list[RouteTargetState]


class SubstitutionRuleState(TypedDict):
    name: str
    priority: int
    enabled: bool
    sender_pattern: str
    only_unregistered: bool
    replacement: str
    partner: str
    direction: str
    operator: str
    note: str


class TrafficPolicyState(TypedDict):
    traffic_type: int
    allowed_from: str  # HH:MM
    allowed_to: str
    outside: str  # "hold" | "refuse"


class RegionTimeZoneState(TypedDict):
    region: str
    time_zone: str


class TariffState(TypedDict):
    partner: str  # "" any
    direction: str  # "" any
    channel: int  # 0 any
    traffic_type: int | None  # None any
    price: str  # decimal, 4 places
    currency: str
    valid_from: str  # ISO 8601 with offset, microseconds


class InboundRouteState(TypedDict):
    name: str
    number: str
    keyword: str
    partner: str
    format: ms.ReportFormat.ValueType  # an MO's hand-over format
    unavailable_text: str
    timeout_seconds: int
    session_keyword: str
    session_close_keyword: str
    session_seconds: int
    session_open_text: str
    session_close_text: str
    session_expired_text: str


class ChangeRecord(TypedDict):
    """One row's change in a revision's JSON (``settings_revisions.changes``)."""

    entity: str
    key: str
    before: RowState | None
    after: RowState | None
