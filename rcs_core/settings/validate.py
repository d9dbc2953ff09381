"""Each settings entity's pure validator: the API message in, the typed state to store out
(or RcsError naming the field). What only the database can tell (references, overlaps,
cycles) is each RPC's ``check``. Partner and verification-policy validators take the merged
state of a create or an update mask, since secrets are hashed and masks merged first."""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rcs.common.v1 import channel_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.inbound import store as inbound
from rcs_core.messages.numbers import normalize_msisdn
from rcs_core.messages.validation import check_report_url
from rcs_core.settings.states import (
    BlacklistState,
    DirectionState,
    InboundRouteState,
    InterfaceState,
    OperatorState,
    PartnerState,
    RegionTimeZoneState,
    RoutingRuleState,
    SenderNameState,
    SubstitutionRuleState,
    TariffState,
    TrafficPolicyState,
    VerificationPolicyState,
    WhitelistState,
)
from rcs_runtime import channels
from rcs_runtime.errors import RcsError, Reason

_RULE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_MAILING = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_PREFIX = re.compile(r"[0-9]{1,15}")
_HH_MM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_TRAFFIC_TYPES = (0, 1, 2, 5, 6, 7)
_NUMBERS = (1_000_000_000, 999_999_999_999_999)  # 10 to 15 digits, as ported_numbers
_MAX_PRIORITY = _MAX_WEIGHT = 1_000_000
# Unset enums take the documented default: ROUTE, HOLD.
_ACTIONS = {
    ss.RULE_ACTION_UNSPECIFIED: "route",
    ss.RULE_ACTION_ROUTE: "route",
    ss.RULE_ACTION_REJECT: "reject",
}
_OUTSIDE = {
    ss.OUTSIDE_HOURS_UNSPECIFIED: "hold",
    ss.OUTSIDE_HOURS_HOLD: "hold",
    ss.OUTSIDE_HOURS_REFUSE: "refuse",
}
# What an MO can be handed over as: deliver_sm, HTTP v5 GET, REST v6 JSON (not REST_BATCH).
_FORMATS = (ms.REPORT_FORMAT_SMPP, ms.REPORT_FORMAT_HTTP_V5, ms.REPORT_FORMAT_REST_V6)
_MAX_NUMBER = 21  # as a sender name: numbers and service names alike
_MAX_KEYWORD = 200
_MAX_TEXT = 2000  # an SMS text, as core accepts it
_MAX_TIMEOUT = 60
_MAX_SESSION_SECONDS = 86400
# The texts sent to the subscriber, all limited alike.
_TEXTS = ("unavailable_text", "session_open_text", "session_close_text", "session_expired_text")
# What only means something with a session_keyword.
_SESSION_FIELDS = (
    "session_close_keyword",
    "session_seconds",
    "session_open_text",
    "session_close_text",
    "session_expired_text",
)


_LOGIN = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
MAX_SENDER_CHARS = 21
MAX_SMPP_PASSWORD_CHARS = 8  # an SMPP 3.4 bind's password is a C-string of 9 octets


def _check_rule_head(name: str, priority: int) -> None:
    if not _RULE_NAME.fullmatch(name):
        raise RcsError(Reason.INVALID_REQUEST, "name: 1-64 of A-Z a-z 0-9 _ . -", field="name")
    if not 0 <= priority <= _MAX_PRIORITY:
        raise RcsError(Reason.INVALID_REQUEST, "priority must be 0 to 1000000", field="priority")


def _check_traffic_type(value: int) -> None:
    if value not in _TRAFFIC_TYPES:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "traffic_type must be one of 0, 1, 2, 5, 6, 7",
            field="traffic_type",
        )


def _check_sender(value: str, field: str, *, required: bool = False) -> None:
    if len(value) > 21 or (required and not value):
        what = "1-21" if required else "at most 21"
        raise RcsError(Reason.INVALID_REQUEST, f"{field}: {what} characters", field=field)


def _unique(values: Sequence[str], field: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise RcsError(
                Reason.INVALID_REQUEST, f"{value!r} is named twice in {field}", field=field
            )
        seen.add(value)


def _ranges(direction: ss.Direction) -> list[list[int]]:
    """The ranges sorted, each within 10-15 digits, none overlapping another."""
    out = sorted([r.start, r.end] for r in direction.ranges)
    for start, end in out:
        if not _NUMBERS[0] <= start <= end <= _NUMBERS[1]:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"range {start}-{end}: start <= end, both numbers of 10-15 digits",
                field="ranges",
            )
    for (a, b), (c, d) in itertools.pairwise(out):
        if c <= b:
            raise RcsError(
                Reason.INVALID_REQUEST, f"ranges {a}-{b} and {c}-{d} overlap", field="ranges"
            )
    return out


def _channel(value: channel_pb2.Channel.ValueType) -> str:
    """The channel as stored: the enum name without CHANNEL_; "" (any) for UNSPECIFIED."""
    if value == channel_pb2.CHANNEL_UNSPECIFIED:
        return ""
    try:
        return channel_pb2.Channel.Name(value).removeprefix("CHANNEL_")
    except ValueError as exc:
        raise RcsError(Reason.INVALID_REQUEST, f"unknown channel {value}", field="channel") from exc


def routing_rule(r: ss.RoutingRule) -> RoutingRuleState:
    _check_rule_head(r.name, r.priority)
    if r.action not in _ACTIONS:
        raise RcsError(Reason.INVALID_REQUEST, f"unknown action {r.action}", field="action")
    action = _ACTIONS[r.action]
    if action == "route" and not r.targets:
        raise RcsError(
            Reason.INVALID_REQUEST, "a ROUTE rule needs at least one target", field="targets"
        )
    if action == "reject" and r.targets:
        raise RcsError(Reason.INVALID_REQUEST, "a REJECT rule has no targets", field="targets")
    _unique([t.interface_id for t in r.targets], "targets")
    if any(not 0 <= t.weight <= _MAX_WEIGHT for t in r.targets):
        raise RcsError(Reason.INVALID_REQUEST, "target weights are 1 to 1000000", field="targets")
    _check_sender(r.sender, "sender")
    if r.HasField("traffic_type"):
        _check_traffic_type(r.traffic_type)
    return {
        "name": r.name,
        "priority": r.priority,
        "enabled": r.enabled,
        "action": action,
        "partner": r.partner,
        "sender": r.sender,
        "direction": r.direction,
        "operator": r.operator,
        "channel": _channel(r.channel),
        "traffic_type": r.traffic_type if r.HasField("traffic_type") else None,
        "note": r.note,
        "targets": [{"interface_id": t.interface_id, "weight": t.weight or 1} for t in r.targets],
    }


def substitution_rule(r: ss.SubstitutionRule) -> SubstitutionRuleState:
    _check_rule_head(r.name, r.priority)
    _check_sender(r.sender_pattern, "sender_pattern")
    _check_sender(r.replacement, "replacement", required=True)
    return {
        "name": r.name,
        "priority": r.priority,
        "enabled": r.enabled,
        "sender_pattern": r.sender_pattern or "*",
        "only_unregistered": r.only_unregistered,
        "replacement": r.replacement,
        "partner": r.partner,
        "direction": r.direction,
        "operator": r.operator,
        "note": r.note,
    }


def _bad_keyword(field: str, keyword: str, message: str, position: int) -> RcsError:
    return RcsError(
        Reason.INVALID_REQUEST,
        f"{field} {keyword!r} is not a regular expression (Python syntax):"
        f" {message} at position {position}",
        field=field,
    )


def _check_keyword(keyword: str, field: str = "keyword") -> None:
    """Refuse, with the error's position, a keyword that routing could not match with."""
    if len(keyword) > _MAX_KEYWORD:
        raise RcsError(
            Reason.INVALID_REQUEST, f"{field} is at most {_MAX_KEYWORD} characters", field=field
        )
    try:  # alone first, so that the position is the keyword's own
        re.compile(keyword, re.IGNORECASE)
    except re.error as err:
        raise _bad_keyword(field, keyword, err.msg, err.pos or 0) from err
    try:  # then as routing matches it: e.g. "(?i)" is refused once not at the start
        inbound.keyword_pattern(keyword)
    except re.error as err:
        position = max(0, (err.pos or 0) - len(inbound.KEYWORD_PREFIX))
        raise _bad_keyword(field, keyword, err.msg, position) from err


def _check_session(r: ss.InboundRoute) -> None:
    """Sessions (http_mo.rst): a session keyword needs a lifetime; without one, the other
    session fields would do nothing, so they are refused rather than silently ignored."""
    _check_keyword(r.session_keyword, "session_keyword")
    _check_keyword(r.session_close_keyword, "session_close_keyword")
    if not 0 <= r.session_seconds <= _MAX_SESSION_SECONDS:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"session_seconds: 1-{_MAX_SESSION_SECONDS}, or 0 without sessions",
            field="session_seconds",
        )
    if r.session_keyword and not r.session_seconds:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"a session_keyword needs session_seconds (1-{_MAX_SESSION_SECONDS}), how long"
            " a session lasts after the subscriber's last message",
            field="session_seconds",
        )
    if not r.session_keyword:
        for name in _SESSION_FIELDS:
            if getattr(r, name):
                raise RcsError(
                    Reason.INVALID_REQUEST,
                    f"{name} works only with a session_keyword: set one, or clear {name}",
                    field=name,
                )


def inbound_route(r: ss.InboundRoute) -> InboundRouteState:
    if not _RULE_NAME.fullmatch(r.name):
        raise RcsError(Reason.INVALID_REQUEST, "name: 1-64 of A-Z a-z 0-9 _ . -", field="name")
    number = inbound.number_key(r.number)  # as messages are matched: without a "+"
    if not 1 <= len(number) <= _MAX_NUMBER:
        raise RcsError(
            Reason.INVALID_REQUEST, f"number: 1-{_MAX_NUMBER} characters", field="number"
        )
    _check_keyword(r.keyword)
    _check_session(r)
    if not r.partner:
        raise RcsError(Reason.INVALID_REQUEST, "a route needs its partner", field="partner")
    if r.format not in _FORMATS:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "format must be REPORT_FORMAT_SMPP, REPORT_FORMAT_HTTP_V5 or REPORT_FORMAT_REST_V6"
            " (1, 2 or 3)",
            field="format",
        )
    for name in _TEXTS:
        text = getattr(r, name)
        if len(text) > _MAX_TEXT or "\x00" in text:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"{name}: at most {_MAX_TEXT} characters, no NUL",
                field=name,
            )
    if not 0 <= r.timeout_seconds <= _MAX_TIMEOUT:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"timeout_seconds: 1-{_MAX_TIMEOUT}, or 0 for the report sender's",
            field="timeout_seconds",
        )
    return {
        "name": r.name,
        "number": number,
        "keyword": r.keyword,
        "partner": r.partner,
        "format": r.format,
        "unavailable_text": r.unavailable_text,
        "timeout_seconds": r.timeout_seconds,
        "session_keyword": r.session_keyword,
        "session_close_keyword": r.session_close_keyword,
        "session_seconds": r.session_seconds,
        "session_open_text": r.session_open_text,
        "session_close_text": r.session_close_text,
        "session_expired_text": r.session_expired_text,
    }


def senders(values: Iterable[str]) -> list[str]:
    """The partner's senders, sorted and once each, or INVALID_SENDER naming the bad one."""
    out = set()
    for value in values:
        if not 1 <= len(value) <= MAX_SENDER_CHARS or value != value.strip():
            raise RcsError(
                Reason.INVALID_SENDER,
                f"senders: {value!r} must be 1 to {MAX_SENDER_CHARS} characters, no outer spaces",
                field="senders",
            )
        out.add(value)
    return sorted(out)


def check_smpp_password(password: str) -> None:
    if not 1 <= len(password) <= MAX_SMPP_PASSWORD_CHARS or not (
        password.isascii() and password.isprintable()
    ):
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"smpp_password must be 1 to {MAX_SMPP_PASSWORD_CHARS} printable ASCII characters:"
            " an SMPP bind carries no more",
            field="smpp_password",
        )


def subnets(values: Iterable[str]) -> list[str]:
    """Normalised CIDRs ("10.1.2.3/8" → "10.0.0.0/8"), or INVALID_REQUEST naming the bad one."""
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError as exc:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"allowed_subnets: {value!r} is not a subnet"
                " (e.g. 203.0.113.0/24 or 2001:db8::/32)",
                field="allowed_subnets",
            ) from exc
    return sorted(set(out))


def check_partner(p: ss.Partner) -> None:
    if not _LOGIN.fullmatch(p.login):
        raise RcsError(Reason.INVALID_REQUEST, "login: 1-64 of A-Z a-z 0-9 _ . @ -", field="login")
    if len(p.default_sender) > 21:
        raise RcsError(Reason.INVALID_SENDER, "default_sender is at most 21 characters")
    if not 1 <= p.default_ttl_seconds <= 2880 * 60:
        raise RcsError(Reason.INVALID_TTL, "default_ttl_seconds must be 1 to 172800")
    if p.duplicate_window_seconds < 1:
        raise RcsError(Reason.INVALID_REQUEST, "duplicate_window_seconds must be positive")
    if p.service_type not in channels.SERVICE_TYPES:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"service_type must be one of {', '.join(sorted(channels.SERVICE_TYPES))}"
            " (the message type of the login's plain HTTP v5 requests)",
            field="service_type",
        )
    if p.max_smpp_sessions < 0:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "max_smpp_sessions is 0 (no limit) or more",
            field="max_smpp_sessions",
        )
    for field in ("report_url", "inbound_url"):
        url = getattr(p, field)
        if url:  # "" turns the callbacks off
            check_report_url(url, field=field)


def plan_refused(name: str) -> RcsError:
    return RcsError(
        Reason.INVALID_REQUEST,
        f"direction {name!r} comes from the number plan: change it by re-importing the number plan",
    )


def direction(d: ss.Direction) -> DirectionState:
    if not d.name or len(d.name) > 128:
        raise RcsError(Reason.INVALID_REQUEST, "direction name: 1-128 characters", field="name")
    if d.source not in ("", "manual"):
        raise plan_refused(d.name)
    if any(not _PREFIX.fullmatch(p) for p in d.prefixes):
        raise RcsError(Reason.INVALID_REQUEST, "prefixes are 1-15 digits", field="prefixes")
    _unique(d.prefixes, "prefixes")
    return DirectionState(
        name=d.name,
        operator=d.operator,
        region=d.region,
        source="manual",
        prefixes=sorted(d.prefixes),
        ranges=_ranges(d),
    )


def sender_name(n: ss.SenderName) -> SenderNameState:
    _check_sender(n.name, "name", required=True)
    # Service (2) when unset: a name says nothing about advertising by default.
    traffic_type = n.traffic_type if n.HasField("traffic_type") else 2
    _check_traffic_type(traffic_type)
    _unique(n.operators, "operators")
    return SenderNameState(
        name=n.name, traffic_type=traffic_type, operators=sorted(n.operators), note=n.note
    )


def traffic_policy(p: ss.TrafficPolicy) -> TrafficPolicyState:
    _check_traffic_type(p.traffic_type)
    for field in ("allowed_from", "allowed_to"):
        if not _HH_MM.fullmatch(getattr(p, field)):
            raise RcsError(Reason.INVALID_REQUEST, f"{field}: HH:MM, 00:00 to 23:59", field=field)
    if p.allowed_from == p.allowed_to:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "allowed_from equals allowed_to: delete the policy to lift the restriction",
        )
    if p.outside not in _OUTSIDE:
        raise RcsError(Reason.INVALID_REQUEST, f"unknown outside {p.outside}", field="outside")
    return TrafficPolicyState(
        traffic_type=p.traffic_type,
        allowed_from=p.allowed_from,
        allowed_to=p.allowed_to,
        outside=_OUTSIDE[p.outside],
    )


def traffic_type(value: int) -> str:
    """A traffic policy's key, once the type is one we know."""
    _check_traffic_type(value)
    return str(value)


def region_time_zone(z: ss.RegionTimeZone) -> RegionTimeZoneState:
    try:
        ZoneInfo(z.time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"unknown time zone {z.time_zone!r}: use an IANA name like Europe/Moscow",
            field="time_zone",
        ) from exc
    return RegionTimeZoneState(region=z.region, time_zone=z.time_zone)


_PRICE = re.compile(r"\d{1,10}(\.\d{1,4})?")
_CURRENCY = re.compile(r"[A-Z]{3}")


def tariff(t: ss.Tariff, *, now: dt.datetime | None = None) -> TariffState:
    """A tariff row; valid_from unset is ``now`` (the caller's clock: the revision's)."""
    if not _PRICE.fullmatch(t.price):
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"price {t.price!r}: a decimal like 1.25, at most 10 digits and 4 decimals",
            field="price",
        )
    currency = t.currency or "RUB"
    if not _CURRENCY.fullmatch(currency):
        raise RcsError(
            Reason.INVALID_REQUEST, "currency: an ISO 4217 code like RUB or USD", field="currency"
        )
    if t.channel not in channel_pb2.Channel.values():
        raise RcsError(Reason.INVALID_REQUEST, f"unknown channel {t.channel}", field="channel")
    traffic: int | None = None
    if t.HasField("traffic_type"):
        _check_traffic_type(t.traffic_type)
        traffic = t.traffic_type
    for field, value in (("partner", t.partner), ("direction", t.direction)):
        if len(value) > 64 or "|" in value:
            raise RcsError(
                Reason.INVALID_REQUEST, f"{field}: at most 64 characters, no '|'", field=field
            )
    if t.HasField("valid_from"):
        valid_from = t.valid_from.ToDatetime(dt.UTC)
    else:
        valid_from = now or dt.datetime.now(dt.UTC)
    return TariffState(
        partner=t.partner,
        direction=t.direction,
        channel=int(t.channel),
        traffic_type=traffic,
        price=f"{Decimal(t.price):.4f}",
        currency=currency,
        valid_from=valid_from.astimezone(dt.UTC).isoformat(timespec="microseconds"),
    )


def tariff_key(s: TariffState) -> str:
    """partner|direction|channel|traffic type ("" any)|valid_from: one row of the history."""
    traffic = "" if s["traffic_type"] is None else str(s["traffic_type"])
    return "|".join((s["partner"], s["direction"], str(s["channel"]), traffic, s["valid_from"]))


def whitelist_entry(e: ss.WhitelistEntry) -> WhitelistState:
    if not _MAILING.fullmatch(e.mailing):
        raise RcsError(
            Reason.INVALID_REQUEST, "mailing: 1-64 of A-Z a-z 0-9 _ . @ -", field="mailing"
        )
    number = normalize_msisdn(e.number)
    if number is None:
        raise RcsError(Reason.INVALID_DESTINATION, f"{e.number!r} is not a number")
    if not e.partner:  # a white list always belongs to a partner
        raise RcsError(Reason.NOT_FOUND, "no partner ''")
    return WhitelistState(partner=e.partner, mailing=e.mailing, number=number, note=e.note)


def blacklist_entry(e: ss.BlacklistEntry) -> BlacklistState:
    number = normalize_msisdn(e.number)
    if number is None:
        raise RcsError(Reason.INVALID_DESTINATION, f"{e.number!r} is not a number")
    return BlacklistState(
        partner=e.partner, number=number, note=e.note, keep_in_mailings=e.keep_in_mailings
    )


def whitelist_key(s: WhitelistState) -> str:
    """Logins and mailings have no ':' (their patterns exclude it), numbers are digits."""
    return f"{s['partner']}:{s['mailing']}:{s['number']}"


def blacklist_key(s: BlacklistState) -> str:
    return f"{s['partner']}:{s['number']}"


def operator(o: ss.Operator) -> OperatorState:
    if not o.name or len(o.name) > 128:
        raise RcsError(Reason.INVALID_REQUEST, "operator name: 1-128 characters", field="name")
    if len(set(o.interface_ids)) != len(o.interface_ids):
        raise RcsError(Reason.INVALID_REQUEST, "an interface is named twice", field="interface_ids")
    return OperatorState(name=o.name, mcc=o.mcc, mnc=o.mnc, interface_ids=list(o.interface_ids))


def interface(i: ss.Interface) -> InterfaceState:
    """The state with the password as given: "" keeps the stored one (the RPC merges it)."""
    if not re.fullmatch(r"[a-z0-9_.-]{1,64}", i.id):
        raise RcsError(Reason.INVALID_REQUEST, "interface id: 1-64 of a-z 0-9 _ . -", field="id")
    if not i.host or not 1 <= i.port <= 65535:
        raise RcsError(Reason.INVALID_REQUEST, "host and a port 1-65535 are required")
    if not i.system_id or len(i.system_id) > 15 or len(i.password) > 8:
        raise RcsError(
            Reason.INVALID_REQUEST, "system_id is 1-15 characters and password at most 8 (SMPP)"
        )
    window = i.window_size or 10
    if not 1 <= window <= 1000 or i.throughput_per_second < 0:
        raise RcsError(Reason.INVALID_REQUEST, "window_size 1-1000, throughput_per_second >= 0")
    return InterfaceState(
        id=i.id,
        host=i.host,
        port=i.port,
        system_id=i.system_id,
        password=i.password,
        system_type=i.system_type,
        window_size=window,
        throughput_per_second=i.throughput_per_second,
        enabled=i.enabled,
    )


def partner(s: PartnerState) -> PartnerState:
    """A created or updated partner's state (secrets already hashed)."""
    check_partner(
        ss.Partner(
            login=s["login"],
            default_sender=s["default_sender"],
            default_ttl_seconds=s["default_ttl_seconds"],
            duplicate_window_seconds=s["duplicate_window_seconds"],
            max_smpp_sessions=s["max_smpp_sessions"],
            report_url=s["report_url"],
            inbound_url=s["inbound_url"],
            service_type=s["service_type"],
        )
    )
    return s


def verification_policy(s: VerificationPolicyState) -> VerificationPolicyState:
    if (
        s["inactive_threshold"] < 1
        or s["inactive_window_seconds"] < 1
        or s["inactive_ttl_seconds"] < 1
        or not s["inactive_codes"]
        or not all(1 <= c <= 99 for c in s["inactive_codes"])
    ):
        raise RcsError(
            Reason.INVALID_REQUEST,
            "threshold, window and ttl must be positive; codes are 1-99, at least one",
        )
    return s
