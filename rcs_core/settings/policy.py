# ruff: noqa: N802 - the RPC methods carry the gRPC service's names, as in *servicer.py
"""SettingsService RPCs of the routing policy (SPEC F10-F14): hand-made directions, sender
names, routing and substitution rules, traffic-type hours, region time zones, white lists.

SettingsServicer (settings_servicer.py) is the one registered class; it inherits these from
PolicySettings, which sits on SettingsBase: the request_id replay, revision commit and paging
that every RPC shares live here so that neither module imports the other.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import grpc
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message
from psycopg_pool import AsyncConnectionPool

from rcs.common.v1 import channel_pb2
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_core.db import request_log
from rcs_core.messages.numbers import normalize_msisdn
from rcs_core.settings import store
from rcs_core.settings.store import Change, State
from rcs_routing.substitution import SubstitutionRuleSpec, substitution_cycle
from rcs_runtime.errors import RcsError, Reason

Ctx = grpc.aio.ServicerContext[Any, Any]
R = TypeVar("R", bound=Message)
Check = Callable[[Any, State], Awaitable[None]]

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
# Rules that may name a direction, for refusing to delete it.
_DIRECTION_USERS = {"routing rules": "routing_rules", "substitution rules": "substitution_rules"}
# Referenced rows by kind; the names are the API's (login, name, id).
_REFERENCE_SQL = {
    "partner": "SELECT 1 FROM partners WHERE login = %s",
    "operator": "SELECT 1 FROM operators WHERE name = %s",
    "direction": "SELECT 1 FROM directions WHERE name = %s",
    "interface": "SELECT 1 FROM interfaces WHERE id = %s",
}


async def _commit(conn: Any, actor: ss.Actor, *, summary: str, changes: list[Change]) -> int:
    """The changes as the next revision, attributed to the request's actor."""
    return await store.commit_revision(
        conn, actor=actor.login, remote_ip=actor.remote_ip, summary=summary, changes=changes
    )


def _page(token: str, size: int) -> tuple[str, int]:
    size = size or 100
    if not 1 <= size <= 1000:
        raise RcsError(Reason.INVALID_REQUEST, "page_size must be 1 to 1000")
    try:
        after = base64.urlsafe_b64decode(token.encode()).decode() if token else ""
    except ValueError as exc:
        raise RcsError(Reason.INVALID_REQUEST, "page_token is not one we issued") from exc
    return after, size


def _token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


class SettingsBase(settings_service_pb2_grpc.SettingsServiceServicer):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def _mutate(
        self,
        request: Any,
        response_type: type[R],
        work: Callable[[Any], Awaitable[R]],
    ) -> R:
        """One transaction: replay a known request_id, else do the work and remember it."""
        method = response_type.DESCRIPTOR.name
        return await request_log.once(self._pool, request.request_id, method, response_type, work)

    async def _list_entries_change(
        self,
        request: Any,
        response_type: type[R],
        *,
        entity: str,
        rows: list[tuple[str, str, dict[str, Any]]],
        add: bool,
    ) -> R:
        """Add (or remove) the rows of a number list (black or white list): (partner, key,
        state) each; rows already so are skipped, and what changed is one revision."""
        label = "black list" if entity == "blacklist" else "white list"

        async def work(conn: Any) -> R:
            changes: list[Change] = []
            for partner, key, state in rows:
                if partner and await store.partner_state(conn, partner) is None:
                    raise RcsError(Reason.NOT_FOUND, f"no partner {partner!r}")
                before = await store.state_of(conn, entity, key)
                after = state if add else None
                if (before is None) == (after is None):
                    continue  # already listed / not listed: nothing to change
                await store.put_state(conn, entity, key, after)
                changes.append(Change(entity, key, before, after))
            revision = await _commit(
                conn,
                request.actor,
                summary=f"{'add' if add else 'remove'} {len(changes)} {label} entries",
                changes=changes,
            )
            count = "added_count" if add else "removed_count"
            return response_type(**{count: len(changes)}, revision=revision)

        return await self._mutate(request, response_type, work)


# -- validation -------------------------------------------------------------------------------


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


async def _require(conn: Any, kind: str, value: str, field: str) -> None:
    """A referenced partner / operator / direction / interface must exist ("" is any)."""
    if not value:
        return
    cur = await conn.execute(_REFERENCE_SQL[kind], (value,))
    if await cur.fetchone() is None:
        raise RcsError(
            Reason.INVALID_REQUEST, f"unknown {kind} {value!r}: create it first", field=field
        )


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


def _plan_refused(name: str) -> RcsError:
    return RcsError(
        Reason.INVALID_REQUEST,
        f"direction {name!r} comes from the number plan: change it by re-importing the number plan",
    )


async def _numbers_free(conn: Any, name: str, prefixes: list[str], ranges: list[list[int]]) -> None:
    """Refuse prefixes and ranges of other directions, naming the direction."""
    cur = await conn.execute(
        "SELECT p.prefix, d.name FROM direction_prefixes p JOIN directions d"
        " ON d.id = p.direction_id WHERE p.prefix = ANY(%s) AND d.name <> %s ORDER BY p.prefix",
        (prefixes, name),
    )
    taken = await cur.fetchall()
    if taken:
        listed = ", ".join(f"{p} (direction {d!r})" for p, d in taken)
        raise RcsError(
            Reason.INVALID_REQUEST, f"prefixes of other directions: {listed}", field="prefixes"
        )
    # Other directions' ranges are disjoint, so the one with the last start at or before a
    # new range's end is the only one that can overlap it: an index probe per range.
    cur = await conn.execute(
        "SELECT t.a, t.b, r.range_start, r.range_end, d.name"
        " FROM unnest(%s::bigint[], %s::bigint[]) AS t(a, b)"
        " CROSS JOIN LATERAL (SELECT * FROM direction_ranges x WHERE x.range_start <= t.b"
        " AND x.direction_id NOT IN (SELECT id FROM directions WHERE name = %s)"
        " ORDER BY x.range_start DESC LIMIT 1) r"
        " JOIN directions d ON d.id = r.direction_id WHERE r.range_end >= t.a ORDER BY t.a",
        ([r[0] for r in ranges], [r[1] for r in ranges], name),
    )
    overlaps = await cur.fetchall()
    if overlaps:
        listed = ", ".join(f"{a}-{b} overlaps {c}-{d} of {n!r}" for a, b, c, d, n in overlaps)
        raise RcsError(
            Reason.INVALID_REQUEST, f"ranges of other directions: {listed}", field="ranges"
        )


def _channel(value: channel_pb2.Channel.ValueType) -> str:
    """The channel as stored: the enum name without CHANNEL_; "" (any) for UNSPECIFIED."""
    if value == channel_pb2.CHANNEL_UNSPECIFIED:
        return ""
    try:
        return channel_pb2.Channel.Name(value).removeprefix("CHANNEL_")
    except ValueError as exc:
        raise RcsError(Reason.INVALID_REQUEST, f"unknown channel {value}", field="channel") from exc


def _routing_rule_state(r: ss.RoutingRule) -> dict[str, Any]:
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


def _substitution_state(r: ss.SubstitutionRule) -> dict[str, Any]:
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


def _cycle_refused(rules: list[dict[str, Any]]) -> None:
    """Refuse a rule set routing could substitute in a cycle. The check is routing's own code
    (rcs_routing.substitution, pure), the one place core imports another service's module."""
    specs = [SubstitutionRuleSpec(**{k: v for k, v in r.items() if k != "note"}) for r in rules]
    names = substitution_cycle(specs)
    if names:
        chain = names if len(names) > 1 and names[0] == names[-1] else [*names, names[0]]
        raise RcsError(
            Reason.INVALID_REQUEST, f"substitution rules would form a cycle: {' → '.join(chain)}"
        )


# -- states as API messages -------------------------------------------------------------------


def _direction_out(st: dict[str, Any]) -> ss.Direction:
    return ss.Direction(
        name=st["name"],
        operator=st["operator"],
        prefixes=st["prefixes"],
        ranges=[ss.NumberRange(start=a, end=b) for a, b in st["ranges"]],
        region=st["region"],
        source=st["source"],
    )


def _routing_rule_out(st: dict[str, Any]) -> ss.RoutingRule:
    rule = ss.RoutingRule(
        name=st["name"],
        priority=st["priority"],
        enabled=st["enabled"],
        action=ss.RULE_ACTION_REJECT if st["action"] == "reject" else ss.RULE_ACTION_ROUTE,
        partner=st["partner"],
        sender=st["sender"],
        direction=st["direction"],
        operator=st["operator"],
        channel=(
            channel_pb2.Channel.Value(f"CHANNEL_{st['channel']}")
            if st["channel"]
            else channel_pb2.CHANNEL_UNSPECIFIED
        ),
        targets=[ss.RouteTarget(**t) for t in st["targets"]],
        note=st["note"],
    )
    if st["traffic_type"] is not None:
        rule.traffic_type = st["traffic_type"]
    return rule


def _traffic_policy_out(st: dict[str, Any]) -> ss.TrafficPolicy:
    return ss.TrafficPolicy(
        traffic_type=st["traffic_type"],
        allowed_from=st["allowed_from"],
        allowed_to=st["allowed_to"],
        outside=ss.OUTSIDE_HOURS_REFUSE if st["outside"] == "refuse" else ss.OUTSIDE_HOURS_HOLD,
    )


class PolicySettings(SettingsBase):
    # -- shapes every entity shares -----------------------------------------------------------

    async def _put(
        self,
        request: Any,
        response_type: type[R],
        entity: str,
        key: str,
        state: dict[str, Any] | Callable[[State], dict[str, Any]],
        respond: Callable[[dict[str, Any], int], R],
        check: Check | None = None,
    ) -> R:
        """Create or replace one row; no revision (0) when it is stored like that already.
        ``check(conn, before)`` refuses what only the database can tell; ``state`` is the
        row to store, or makes it from the stored one (e.g. to keep a write-only field)."""

        async def work(conn: Any) -> R:
            await store.lock_settings(conn)
            before = await store.state_of(conn, entity, key)
            if check is not None:
                await check(conn, before)
            after = state(before) if callable(state) else state
            revision = 0
            if before != after:
                await store.put_state(conn, entity, key, after)
                revision = await _commit(
                    conn,
                    request.actor,
                    summary=f"put {entity.replace('_', ' ')} {key}",
                    changes=[Change(entity, key, before, after)],
                )
            return respond(after, revision)

        return await self._mutate(request, response_type, work)

    async def _delete(
        self,
        request: Any,
        response_type: type[R],
        entity: str,
        key: str,
        check: Check | None = None,
    ) -> R:
        label = entity.replace("_", " ")

        async def work(conn: Any) -> R:
            await store.lock_settings(conn)
            before = await store.state_of(conn, entity, key)
            if before is None:
                raise RcsError(Reason.NOT_FOUND, f"no {label} {key!r}")
            if check is not None:
                await check(conn, before)
            await store.put_state(conn, entity, key, None)
            revision = await _commit(
                conn,
                request.actor,
                summary=f"delete {label} {key}",
                changes=[Change(entity, key, before, None)],
            )
            return response_type(revision=revision)  # every Delete*Response has it

        return await self._mutate(request, response_type, work)

    async def _list_page(
        self, sql: str, args: tuple[Any, ...], entity: str, token: str, size: int
    ) -> tuple[list[dict[str, Any]], str]:
        """States of one page of keys; ``sql`` selects keys after %s, then ``args``, in key
        order, with the page size as its last parameter."""
        after, size = _page(token, size)
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, (after, *args, size + 1))
            keys = [row[0] for row in await cur.fetchall()]
            states = [await store.state_of(conn, entity, k) for k in keys[:size]]
        return [s for s in states if s], _token(keys[size - 1]) if len(keys) > size else ""

    async def _all(self, sql: str, entity: str) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql)
            keys = [str(row[0]) for row in await cur.fetchall()]
            states = [await store.state_of(conn, entity, k) for k in keys]
        return [s for s in states if s]

    # -- directions -----------------------------------------------------------------------

    async def PutDirection(
        self, request: ss.PutDirectionRequest, context: Ctx
    ) -> ss.PutDirectionResponse:
        d = request.direction
        if not d.name or len(d.name) > 128:
            raise RcsError(Reason.INVALID_REQUEST, "direction name: 1-128 characters", field="name")
        if d.source not in ("", "manual"):
            raise _plan_refused(d.name)
        if any(not _PREFIX.fullmatch(p) for p in d.prefixes):
            raise RcsError(Reason.INVALID_REQUEST, "prefixes are 1-15 digits", field="prefixes")
        _unique(d.prefixes, "prefixes")
        after: dict[str, Any] = {
            "name": d.name,
            "operator": d.operator,
            "region": d.region,
            "source": "manual",
            "prefixes": sorted(d.prefixes),
            "ranges": _ranges(d),
        }

        async def check(conn: Any, before: State) -> None:
            if before is not None and before["source"] != "manual":
                raise _plan_refused(d.name)
            if not d.operator:
                raise RcsError(
                    Reason.INVALID_REQUEST, "a direction needs its operator", field="operator"
                )
            await _require(conn, "operator", d.operator, "operator")
            await _numbers_free(conn, d.name, after["prefixes"], after["ranges"])

        return await self._put(
            request,
            ss.PutDirectionResponse,
            "direction",
            d.name,
            after,
            lambda st, rev: ss.PutDirectionResponse(direction=_direction_out(st), revision=rev),
            check,
        )

    async def DeleteDirection(
        self, request: ss.DeleteDirectionRequest, context: Ctx
    ) -> ss.DeleteDirectionResponse:
        async def check(conn: Any, before: State) -> None:
            assert before is not None
            if before["source"] != "manual":
                raise _plan_refused(request.name)
            users = []
            for label, table in _DIRECTION_USERS.items():
                cur = await conn.execute(
                    f"SELECT name FROM {table} WHERE direction = %s ORDER BY name",  # noqa: S608
                    (request.name,),
                )
                names = [row[0] for row in await cur.fetchall()]
                if names:
                    users.append(f"{label} {', '.join(names)}")
            if users:
                raise RcsError(
                    Reason.INVALID_REQUEST,
                    f"direction {request.name!r} is used by {' and '.join(users)}:"
                    " change or delete them first",
                )

        return await self._delete(
            request, ss.DeleteDirectionResponse, "direction", request.name, check
        )

    async def ListDirections(
        self, request: ss.ListDirectionsRequest, context: Ctx
    ) -> ss.ListDirectionsResponse:
        states, next_token = await self._list_page(
            "SELECT d.name FROM directions d JOIN operators o ON o.id = d.operator_id"
            " WHERE d.name > %s AND (%s = '' OR o.name = %s) ORDER BY d.name LIMIT %s",
            (request.operator, request.operator),
            "direction",
            request.page_token,
            request.page_size,
        )
        return ss.ListDirectionsResponse(
            directions=[_direction_out(s) for s in states], next_page_token=next_token
        )

    # -- sender names ---------------------------------------------------------------------

    async def PutSenderName(
        self, request: ss.PutSenderNameRequest, context: Ctx
    ) -> ss.PutSenderNameResponse:
        n = request.sender_name
        _check_sender(n.name, "name", required=True)
        if not n.HasField("traffic_type"):
            n.traffic_type = 2  # service: a name says nothing about advertising by default
        _check_traffic_type(n.traffic_type)
        _unique(n.operators, "operators")
        after = {
            "name": n.name,
            "traffic_type": n.traffic_type,
            "operators": sorted(n.operators),
            "note": n.note,
        }

        async def check(conn: Any, before: State) -> None:
            for operator in n.operators:
                await _require(conn, "operator", operator, "operators")

        return await self._put(
            request,
            ss.PutSenderNameResponse,
            "sender_name",
            n.name,
            after,
            lambda st, rev: ss.PutSenderNameResponse(sender_name=ss.SenderName(**st), revision=rev),
            check,
        )

    async def DeleteSenderName(
        self, request: ss.DeleteSenderNameRequest, context: Ctx
    ) -> ss.DeleteSenderNameResponse:
        return await self._delete(request, ss.DeleteSenderNameResponse, "sender_name", request.name)

    async def ListSenderNames(
        self, request: ss.ListSenderNamesRequest, context: Ctx
    ) -> ss.ListSenderNamesResponse:
        states, next_token = await self._list_page(
            "SELECT name FROM sender_names WHERE name > %s ORDER BY name LIMIT %s",
            (),
            "sender_name",
            request.page_token,
            request.page_size,
        )
        return ss.ListSenderNamesResponse(
            sender_names=[ss.SenderName(**s) for s in states], next_page_token=next_token
        )

    # -- routing rules --------------------------------------------------------------------

    async def PutRoutingRule(
        self, request: ss.PutRoutingRuleRequest, context: Ctx
    ) -> ss.PutRoutingRuleResponse:
        after = _routing_rule_state(request.rule)

        async def check(conn: Any, before: State) -> None:
            for kind in ("partner", "direction", "operator"):
                await _require(conn, kind, after[kind], kind)
            for target in after["targets"]:
                await _require(conn, "interface", target["interface_id"], "targets")

        return await self._put(
            request,
            ss.PutRoutingRuleResponse,
            "routing_rule",
            after["name"],
            after,
            lambda st, rev: ss.PutRoutingRuleResponse(rule=_routing_rule_out(st), revision=rev),
            check,
        )

    async def DeleteRoutingRule(
        self, request: ss.DeleteRoutingRuleRequest, context: Ctx
    ) -> ss.DeleteRoutingRuleResponse:
        return await self._delete(
            request, ss.DeleteRoutingRuleResponse, "routing_rule", request.name
        )

    async def ListRoutingRules(
        self, request: ss.ListRoutingRulesRequest, context: Ctx
    ) -> ss.ListRoutingRulesResponse:
        states, next_token = await self._list_page(
            "SELECT name FROM routing_rules WHERE name > %s ORDER BY name LIMIT %s",
            (),
            "routing_rule",
            request.page_token,
            request.page_size,
        )
        return ss.ListRoutingRulesResponse(
            rules=[_routing_rule_out(s) for s in states], next_page_token=next_token
        )

    # -- substitution rules ---------------------------------------------------------------

    async def PutSubstitutionRule(
        self, request: ss.PutSubstitutionRuleRequest, context: Ctx
    ) -> ss.PutSubstitutionRuleResponse:
        after = _substitution_state(request.rule)

        async def check(conn: Any, before: State) -> None:
            for kind in ("partner", "direction", "operator"):
                await _require(conn, kind, after[kind], kind)
            others = [r for r in await store.substitution_rules(conn) if r["name"] != after["name"]]
            _cycle_refused([*others, after])

        return await self._put(
            request,
            ss.PutSubstitutionRuleResponse,
            "substitution_rule",
            after["name"],
            after,
            lambda st, rev: ss.PutSubstitutionRuleResponse(
                rule=ss.SubstitutionRule(**st), revision=rev
            ),
            check,
        )

    async def DeleteSubstitutionRule(
        self, request: ss.DeleteSubstitutionRuleRequest, context: Ctx
    ) -> ss.DeleteSubstitutionRuleResponse:
        return await self._delete(
            request, ss.DeleteSubstitutionRuleResponse, "substitution_rule", request.name
        )

    async def ListSubstitutionRules(
        self, request: ss.ListSubstitutionRulesRequest, context: Ctx
    ) -> ss.ListSubstitutionRulesResponse:
        states, next_token = await self._list_page(
            "SELECT name FROM substitution_rules WHERE name > %s ORDER BY name LIMIT %s",
            (),
            "substitution_rule",
            request.page_token,
            request.page_size,
        )
        return ss.ListSubstitutionRulesResponse(
            rules=[ss.SubstitutionRule(**s) for s in states], next_page_token=next_token
        )

    # -- traffic-type hours and time zones ------------------------------------------------

    async def PutTrafficPolicy(
        self, request: ss.PutTrafficPolicyRequest, context: Ctx
    ) -> ss.PutTrafficPolicyResponse:
        p = request.policy
        _check_traffic_type(p.traffic_type)
        for field in ("allowed_from", "allowed_to"):
            if not _HH_MM.fullmatch(getattr(p, field)):
                raise RcsError(
                    Reason.INVALID_REQUEST, f"{field}: HH:MM, 00:00 to 23:59", field=field
                )
        if p.allowed_from == p.allowed_to:
            raise RcsError(
                Reason.INVALID_REQUEST,
                "allowed_from equals allowed_to: delete the policy to lift the restriction",
            )
        if p.outside not in _OUTSIDE:
            raise RcsError(Reason.INVALID_REQUEST, f"unknown outside {p.outside}", field="outside")
        after = {
            "traffic_type": p.traffic_type,
            "allowed_from": p.allowed_from,
            "allowed_to": p.allowed_to,
            "outside": _OUTSIDE[p.outside],
        }
        return await self._put(
            request,
            ss.PutTrafficPolicyResponse,
            "traffic_policy",
            str(p.traffic_type),
            after,
            lambda st, rev: ss.PutTrafficPolicyResponse(
                policy=_traffic_policy_out(st), revision=rev
            ),
        )

    async def DeleteTrafficPolicy(
        self, request: ss.DeleteTrafficPolicyRequest, context: Ctx
    ) -> ss.DeleteTrafficPolicyResponse:
        _check_traffic_type(request.traffic_type)
        return await self._delete(
            request, ss.DeleteTrafficPolicyResponse, "traffic_policy", str(request.traffic_type)
        )

    async def ListTrafficPolicies(
        self, request: ss.ListTrafficPoliciesRequest, context: Ctx
    ) -> ss.ListTrafficPoliciesResponse:
        states = await self._all(
            "SELECT traffic_type FROM traffic_policies ORDER BY traffic_type", "traffic_policy"
        )
        return ss.ListTrafficPoliciesResponse(policies=[_traffic_policy_out(s) for s in states])

    async def PutRegionTimeZone(
        self, request: ss.PutRegionTimeZoneRequest, context: Ctx
    ) -> ss.PutRegionTimeZoneResponse:
        z = request.region_time_zone
        try:
            ZoneInfo(z.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"unknown time zone {z.time_zone!r}: use an IANA name like Europe/Moscow",
                field="time_zone",
            ) from exc
        after = {"region": z.region, "time_zone": z.time_zone}
        return await self._put(
            request,
            ss.PutRegionTimeZoneResponse,
            "region_time_zone",
            z.region,
            after,
            lambda st, rev: ss.PutRegionTimeZoneResponse(
                region_time_zone=ss.RegionTimeZone(**st), revision=rev
            ),
        )

    async def ListRegionTimeZones(
        self, request: ss.ListRegionTimeZonesRequest, context: Ctx
    ) -> ss.ListRegionTimeZonesResponse:
        states = await self._all(
            "SELECT region FROM region_time_zones ORDER BY region", "region_time_zone"
        )
        return ss.ListRegionTimeZonesResponse(
            region_time_zones=[ss.RegionTimeZone(**s) for s in states]
        )

    # -- white lists ----------------------------------------------------------------------

    async def _whitelist_change(self, request: Any, response_type: type[R], add: bool) -> R:
        rows = []
        for e in request.entries:
            if not _MAILING.fullmatch(e.mailing):
                raise RcsError(
                    Reason.INVALID_REQUEST, "mailing: 1-64 of A-Z a-z 0-9 _ . @ -", field="mailing"
                )
            number = normalize_msisdn(e.number)
            if number is None:
                raise RcsError(Reason.INVALID_DESTINATION, f"{e.number!r} is not a number")
            if not e.partner:  # a white list always belongs to a partner
                raise RcsError(Reason.NOT_FOUND, "no partner ''")
            state = {"partner": e.partner, "mailing": e.mailing, "number": number, "note": e.note}
            rows.append((e.partner, store.whitelist_key(e.partner, e.mailing, number), state))
        return await self._list_entries_change(
            request, response_type, entity="whitelist", rows=rows, add=add
        )

    async def AddWhitelistEntries(
        self, request: ss.AddWhitelistEntriesRequest, context: Ctx
    ) -> ss.AddWhitelistEntriesResponse:
        return await self._whitelist_change(request, ss.AddWhitelistEntriesResponse, add=True)

    async def RemoveWhitelistEntries(
        self, request: ss.RemoveWhitelistEntriesRequest, context: Ctx
    ) -> ss.RemoveWhitelistEntriesResponse:
        return await self._whitelist_change(request, ss.RemoveWhitelistEntriesResponse, add=False)

    async def ListWhitelistEntries(
        self, request: ss.ListWhitelistEntriesRequest, context: Ctx
    ) -> ss.ListWhitelistEntriesResponse:
        after, size = _page(request.page_token, request.page_size)
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT number, note, created_at FROM whitelist WHERE partner = %s"
                " AND mailing = %s AND number > %s ORDER BY number LIMIT %s",
                (request.partner, request.mailing, after, size + 1),
            )
            rows = await cur.fetchall()
        entries = []
        for number, note, created in rows[:size]:
            ts = timestamp_pb2.Timestamp()
            ts.FromDatetime(created)
            entries.append(
                ss.WhitelistEntry(
                    partner=request.partner,
                    mailing=request.mailing,
                    number=number,
                    note=note,
                    create_time=ts,
                )
            )
        return ss.ListWhitelistEntriesResponse(
            entries=entries, next_page_token=_token(rows[size - 1][0]) if len(rows) > size else ""
        )
