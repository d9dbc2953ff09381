# ruff: noqa: N802 - the RPC methods carry the gRPC service's names, as in *servicer.py
"""SettingsService RPCs of the routing policy (SPEC F10-F14): hand-made directions, sender
names, routing and substitution rules, traffic-type hours, region time zones, white lists.

SettingsServicer (servicer.py) is the one registered class; it composes PolicySettings with
the other groups of RPCs, each a SettingsBase over the same pool, and serves every RPC by
delegating to the one group that has it. The request_id replay, revision commit and paging
that every RPC shares are rcs_core.settings.writes.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from google.protobuf import timestamp_pb2
from psycopg_pool import AsyncConnectionPool

from rcs.common.v1 import channel_pb2
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.settings import entities, validate, writes
from rcs_core.settings.spec import Conn
from rcs_core.settings.states import (
    DirectionState,
    RoutingRuleState,
    SenderNameState,
    SubstitutionRuleState,
    TariffState,
    TrafficPolicyState,
    WhitelistState,
)
from rcs_core.settings.writes import Ctx, R
from rcs_routing.substitution import SubstitutionRuleSpec, substitution_cycle
from rcs_runtime.errors import RcsError, Reason

# Rules that may name a direction, for refusing to delete it.
_DIRECTION_USERS = {"routing rules": "routing_rules", "substitution rules": "substitution_rules"}
# Referenced rows by kind; the names are the API's (login, name, id).
_REFERENCE_SQL = {
    "partner": "SELECT 1 FROM partners WHERE login = %s",
    "operator": "SELECT 1 FROM operators WHERE name = %s",
    "direction": "SELECT 1 FROM directions WHERE name = %s",
    "interface": "SELECT 1 FROM interfaces WHERE id = %s",
}


class SettingsBase:
    """One group of SettingsService RPCs (methods named as the RPCs), composed by
    SettingsServicer. Its state is the pool every group shares; its RPCs compose
    rcs_core.settings.writes, the one settings write path."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool


# -- validation -------------------------------------------------------------------------------


async def _require(conn: Conn, kind: str, value: str, field: str) -> None:
    """A referenced partner / operator / direction / interface must exist ("" is any)."""
    if not value:
        return
    cur = await conn.execute(_REFERENCE_SQL[kind], (value,))
    if await cur.fetchone() is None:
        raise RcsError(
            Reason.INVALID_REQUEST, f"unknown {kind} {value!r}: create it first", field=field
        )


async def _numbers_free(
    conn: Conn, name: str, prefixes: list[str], ranges: list[list[int]]
) -> None:
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


def _cycle_refused(rules: list[SubstitutionRuleState]) -> None:
    """Refuse a rule set routing could substitute in a cycle. The check is routing's own code
    (rcs_routing.substitution, pure), the one place core imports another service's module."""
    specs = [
        SubstitutionRuleSpec(
            name=r["name"],
            priority=r["priority"],
            enabled=r["enabled"],
            sender_pattern=r["sender_pattern"],
            only_unregistered=r["only_unregistered"],
            replacement=r["replacement"],
            partner=r["partner"],
            direction=r["direction"],
            operator=r["operator"],
        )
        for r in rules
    ]
    names = substitution_cycle(specs)
    if names:
        chain = names if len(names) > 1 and names[0] == names[-1] else [*names, names[0]]
        raise RcsError(
            Reason.INVALID_REQUEST, f"substitution rules would form a cycle: {' → '.join(chain)}"
        )


# -- states as API messages -------------------------------------------------------------------


def _direction_out(st: DirectionState) -> ss.Direction:
    return ss.Direction(
        name=st["name"],
        operator=st["operator"],
        prefixes=st["prefixes"],
        ranges=[ss.NumberRange(start=a, end=b) for a, b in st["ranges"]],
        region=st["region"],
        source=st["source"],
    )


def _routing_rule_out(st: RoutingRuleState) -> ss.RoutingRule:
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
        targets=[
            ss.RouteTarget(interface_id=t["interface_id"], weight=t["weight"])
            for t in st["targets"]
        ],
        note=st["note"],
    )
    if st["traffic_type"] is not None:
        rule.traffic_type = st["traffic_type"]
    return rule


def _sender_name_out(st: SenderNameState) -> ss.SenderName:
    return ss.SenderName(**st)


def _substitution_out(st: SubstitutionRuleState) -> ss.SubstitutionRule:
    return ss.SubstitutionRule(**st)


def _traffic_policy_out(st: TrafficPolicyState) -> ss.TrafficPolicy:
    return ss.TrafficPolicy(
        traffic_type=st["traffic_type"],
        allowed_from=st["allowed_from"],
        allowed_to=st["allowed_to"],
        outside=ss.OUTSIDE_HOURS_REFUSE if st["outside"] == "refuse" else ss.OUTSIDE_HOURS_HOLD,
    )


def _partner(s: WhitelistState) -> str:
    return s["partner"]


class PolicySettings(SettingsBase):
    # -- directions -----------------------------------------------------------------------

    async def PutDirection(
        self, request: ss.PutDirectionRequest, context: Ctx
    ) -> ss.PutDirectionResponse:
        d = request.direction
        after = entities.DIRECTION.validate(d)

        async def check(conn: Conn, before: DirectionState | None) -> None:
            if before is not None and before["source"] != "manual":
                raise validate.plan_refused(d.name)
            if not d.operator:
                raise RcsError(
                    Reason.INVALID_REQUEST, "a direction needs its operator", field="operator"
                )
            await _require(conn, "operator", d.operator, "operator")
            await _numbers_free(conn, d.name, after["prefixes"], after["ranges"])

        return await writes.put(
            self._pool,
            request,
            ss.PutDirectionResponse,
            entities.DIRECTION,
            after,
            lambda st, rev: ss.PutDirectionResponse(direction=_direction_out(st), revision=rev),
            check,
        )

    async def DeleteDirection(
        self, request: ss.DeleteDirectionRequest, context: Ctx
    ) -> ss.DeleteDirectionResponse:
        async def check(conn: Conn, before: DirectionState | None) -> None:
            assert before is not None
            if before["source"] != "manual":
                raise validate.plan_refused(request.name)
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

        return await writes.delete(
            self._pool, request, ss.DeleteDirectionResponse, entities.DIRECTION, request.name, check
        )

    async def ListDirections(
        self, request: ss.ListDirectionsRequest, context: Ctx
    ) -> ss.ListDirectionsResponse:
        states, next_token = await writes.list_page(
            self._pool,
            entities.DIRECTION,
            request.page_token,
            request.page_size,
            (request.operator, request.operator),
        )
        return ss.ListDirectionsResponse(
            directions=[_direction_out(s) for s in states], next_page_token=next_token
        )

    # -- sender names ---------------------------------------------------------------------

    async def PutSenderName(
        self, request: ss.PutSenderNameRequest, context: Ctx
    ) -> ss.PutSenderNameResponse:
        n = request.sender_name
        after = entities.SENDER_NAME.validate(n)

        async def check(conn: Conn, before: SenderNameState | None) -> None:
            for operator in n.operators:
                await _require(conn, "operator", operator, "operators")

        return await writes.put(
            self._pool,
            request,
            ss.PutSenderNameResponse,
            entities.SENDER_NAME,
            after,
            lambda st, rev: ss.PutSenderNameResponse(
                sender_name=_sender_name_out(st), revision=rev
            ),
            check,
        )

    async def DeleteSenderName(
        self, request: ss.DeleteSenderNameRequest, context: Ctx
    ) -> ss.DeleteSenderNameResponse:
        return await writes.delete(
            self._pool, request, ss.DeleteSenderNameResponse, entities.SENDER_NAME, request.name
        )

    async def ListSenderNames(
        self, request: ss.ListSenderNamesRequest, context: Ctx
    ) -> ss.ListSenderNamesResponse:
        states, next_token = await writes.list_page(
            self._pool, entities.SENDER_NAME, request.page_token, request.page_size
        )
        return ss.ListSenderNamesResponse(
            sender_names=[_sender_name_out(s) for s in states], next_page_token=next_token
        )

    # -- routing rules --------------------------------------------------------------------

    async def PutRoutingRule(
        self, request: ss.PutRoutingRuleRequest, context: Ctx
    ) -> ss.PutRoutingRuleResponse:
        after = entities.ROUTING_RULE.validate(request.rule)

        async def check(conn: Conn, before: RoutingRuleState | None) -> None:
            await _require(conn, "partner", after["partner"], "partner")
            await _require(conn, "direction", after["direction"], "direction")
            await _require(conn, "operator", after["operator"], "operator")
            for target in after["targets"]:
                await _require(conn, "interface", target["interface_id"], "targets")

        return await writes.put(
            self._pool,
            request,
            ss.PutRoutingRuleResponse,
            entities.ROUTING_RULE,
            after,
            lambda st, rev: ss.PutRoutingRuleResponse(rule=_routing_rule_out(st), revision=rev),
            check,
        )

    async def DeleteRoutingRule(
        self, request: ss.DeleteRoutingRuleRequest, context: Ctx
    ) -> ss.DeleteRoutingRuleResponse:
        return await writes.delete(
            self._pool, request, ss.DeleteRoutingRuleResponse, entities.ROUTING_RULE, request.name
        )

    async def ListRoutingRules(
        self, request: ss.ListRoutingRulesRequest, context: Ctx
    ) -> ss.ListRoutingRulesResponse:
        states, next_token = await writes.list_page(
            self._pool, entities.ROUTING_RULE, request.page_token, request.page_size
        )
        return ss.ListRoutingRulesResponse(
            rules=[_routing_rule_out(s) for s in states], next_page_token=next_token
        )

    # -- substitution rules ---------------------------------------------------------------

    async def PutSubstitutionRule(
        self, request: ss.PutSubstitutionRuleRequest, context: Ctx
    ) -> ss.PutSubstitutionRuleResponse:
        after = entities.SUBSTITUTION_RULE.validate(request.rule)

        async def check(conn: Conn, before: SubstitutionRuleState | None) -> None:
            await _require(conn, "partner", after["partner"], "partner")
            await _require(conn, "direction", after["direction"], "direction")
            await _require(conn, "operator", after["operator"], "operator")
            others = [
                r for r in await entities.substitution_rules(conn) if r["name"] != after["name"]
            ]
            _cycle_refused([*others, after])

        return await writes.put(
            self._pool,
            request,
            ss.PutSubstitutionRuleResponse,
            entities.SUBSTITUTION_RULE,
            after,
            lambda st, rev: ss.PutSubstitutionRuleResponse(
                rule=_substitution_out(st), revision=rev
            ),
            check,
        )

    async def DeleteSubstitutionRule(
        self, request: ss.DeleteSubstitutionRuleRequest, context: Ctx
    ) -> ss.DeleteSubstitutionRuleResponse:
        return await writes.delete(
            self._pool,
            request,
            ss.DeleteSubstitutionRuleResponse,
            entities.SUBSTITUTION_RULE,
            request.name,
        )

    async def ListSubstitutionRules(
        self, request: ss.ListSubstitutionRulesRequest, context: Ctx
    ) -> ss.ListSubstitutionRulesResponse:
        states, next_token = await writes.list_page(
            self._pool, entities.SUBSTITUTION_RULE, request.page_token, request.page_size
        )
        return ss.ListSubstitutionRulesResponse(
            rules=[_substitution_out(s) for s in states], next_page_token=next_token
        )

    # -- traffic-type hours and time zones ------------------------------------------------

    async def PutTrafficPolicy(
        self, request: ss.PutTrafficPolicyRequest, context: Ctx
    ) -> ss.PutTrafficPolicyResponse:
        after = entities.TRAFFIC_POLICY.validate(request.policy)
        return await writes.put(
            self._pool,
            request,
            ss.PutTrafficPolicyResponse,
            entities.TRAFFIC_POLICY,
            after,
            lambda st, rev: ss.PutTrafficPolicyResponse(
                policy=_traffic_policy_out(st), revision=rev
            ),
        )

    async def DeleteTrafficPolicy(
        self, request: ss.DeleteTrafficPolicyRequest, context: Ctx
    ) -> ss.DeleteTrafficPolicyResponse:
        key = validate.traffic_type(request.traffic_type)
        return await writes.delete(
            self._pool,
            request,
            ss.DeleteTrafficPolicyResponse,
            entities.TRAFFIC_POLICY,
            key,
        )

    async def ListTrafficPolicies(
        self, request: ss.ListTrafficPoliciesRequest, context: Ctx
    ) -> ss.ListTrafficPoliciesResponse:
        states = await writes.list_all(
            self._pool,
            entities.TRAFFIC_POLICY,
            "SELECT traffic_type FROM traffic_policies ORDER BY traffic_type",
        )
        return ss.ListTrafficPoliciesResponse(policies=[_traffic_policy_out(s) for s in states])

    async def PutRegionTimeZone(
        self, request: ss.PutRegionTimeZoneRequest, context: Ctx
    ) -> ss.PutRegionTimeZoneResponse:
        after = entities.REGION_TIME_ZONE.validate(request.region_time_zone)
        return await writes.put(
            self._pool,
            request,
            ss.PutRegionTimeZoneResponse,
            entities.REGION_TIME_ZONE,
            after,
            lambda st, rev: ss.PutRegionTimeZoneResponse(
                region_time_zone=ss.RegionTimeZone(region=st["region"], time_zone=st["time_zone"]),
                revision=rev,
            ),
        )

    async def ListRegionTimeZones(
        self, request: ss.ListRegionTimeZonesRequest, context: Ctx
    ) -> ss.ListRegionTimeZonesResponse:
        states = await writes.list_all(
            self._pool,
            entities.REGION_TIME_ZONE,
            "SELECT region FROM region_time_zones ORDER BY region",
        )
        return ss.ListRegionTimeZonesResponse(
            region_time_zones=[
                ss.RegionTimeZone(region=s["region"], time_zone=s["time_zone"]) for s in states
            ]
        )

    # -- tariffs ------------------------------------------------------------------------

    async def PutTariff(self, request: ss.PutTariffRequest, context: Ctx) -> ss.PutTariffResponse:
        after = entities.TARIFF.validate(request.tariff)
        return await writes.put(
            self._pool,
            request,
            ss.PutTariffResponse,
            entities.TARIFF,
            after,
            lambda st, rev: ss.PutTariffResponse(tariff=_tariff_out(st), revision=rev),
        )

    async def DeleteTariff(
        self, request: ss.DeleteTariffRequest, context: Ctx
    ) -> ss.DeleteTariffResponse:
        if not request.tariff.HasField("valid_from"):
            raise RcsError(
                Reason.INVALID_REQUEST, "valid_from names the row to delete", field="valid_from"
            )
        key = validate.tariff_key(validate.tariff(_key_fields(request.tariff)))
        return await writes.delete(
            self._pool, request, ss.DeleteTariffResponse, entities.TARIFF, key
        )

    async def ListTariffs(
        self, request: ss.ListTariffsRequest, context: Ctx
    ) -> ss.ListTariffsResponse:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT partner, direction, channel, traffic_type, price::text, currency,"
                " valid_from FROM tariffs"
                " ORDER BY partner, direction, channel, traffic_type NULLS FIRST, valid_from"
            )
            found = await cur.fetchall()
        out = []
        for partner, direction, channel, traffic, price, currency, valid_from in found:
            t = ss.Tariff(
                partner=partner,
                direction=direction,
                channel=channel,
                price=price,
                currency=currency,
            )
            if traffic is not None:
                t.traffic_type = traffic
            t.valid_from.FromDatetime(valid_from)
            out.append(t)
        return ss.ListTariffsResponse(tariffs=out)

    # -- white lists ----------------------------------------------------------------------

    async def _whitelist_change(
        self,
        request: ss.AddWhitelistEntriesRequest | ss.RemoveWhitelistEntriesRequest,
        response_type: type[R],
        add: bool,
    ) -> R:
        return await writes.change_entries(
            self._pool,
            request,
            response_type,
            entities.WHITELIST,
            request.entries,
            _partner,
            add=add,
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
        after, size = writes.page(request.page_token, request.page_size)
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
            entries=entries,
            next_page_token=writes.token(rows[size - 1][0]) if len(rows) > size else "",
        )


def _tariff_out(s: TariffState) -> ss.Tariff:
    t = ss.Tariff(
        partner=s["partner"],
        direction=s["direction"],
        channel=cast("channel_pb2.Channel.ValueType", s["channel"]),
        price=s["price"],
        currency=s["currency"],
    )
    if s["traffic_type"] is not None:
        t.traffic_type = s["traffic_type"]
    t.valid_from.FromDatetime(dt.datetime.fromisoformat(s["valid_from"]))
    return t


def _key_fields(t: ss.Tariff) -> ss.Tariff:
    """The fields that name a tariff row, with a placeholder price for validation."""
    named = ss.Tariff()
    named.CopyFrom(t)
    named.price, named.currency = "0", ""
    return named
