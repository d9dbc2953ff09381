"""Reads the transport settings of one revision through the declared read contract (the
settings_read views of migration 0090, never core's tables) and compiles them."""

from __future__ import annotations

import psycopg

from rcs.common.v1 import channel_pb2
from rcs_routing.rules import ANY_TRAFFIC, Rule, Target
from rcs_routing.substitution import SubstitutionRuleSpec, Substitutions
from rcs_routing.table import Direction, Policy, RoutingTable
from rcs_routing.traffic_hours import HoursPolicy


async def current_revision(conn: psycopg.AsyncConnection) -> int:
    cur = await conn.execute("SELECT revision FROM settings_read.revision")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def load_table(conn: psycopg.AsyncConnection) -> RoutingTable:
    """Compile from one consistent snapshot (REPEATABLE READ, read only)."""
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        revision = await current_revision(conn)
        cur = await conn.execute("SELECT id, name, operator, region FROM settings_read.directions")
        directions = {row[0]: Direction(row[1], row[2], row[3]) for row in await cur.fetchall()}
        cur = await conn.execute(
            "SELECT prefix, direction_id FROM settings_read.direction_prefixes"
        )
        prefixes = [(p, directions[d]) for p, d in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT range_start, range_end, direction_id FROM settings_read.direction_ranges"
        )
        ranges = [(s, e, directions[d]) for s, e, d in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT operator, interface_id FROM settings_read.operator_routes"
            " WHERE interface_enabled ORDER BY operator, priority, interface_id"
        )
        by_operator: dict[str, list[str]] = {}
        for operator, interface_id in await cur.fetchall():
            by_operator.setdefault(operator, []).append(interface_id)
        cur = await conn.execute("SELECT number::text, operator FROM settings_read.ported_numbers")
        ported: list[tuple[str, str]] = await cur.fetchall()
        policy = await _load_policy(conn)
    return RoutingTable(
        revision=revision,
        prefixes=prefixes,
        ranges=ranges,
        interfaces_by_operator=by_operator,
        ported=ported,
        policy=policy,
    )


async def _load_policy(conn: psycopg.AsyncConnection) -> Policy:
    """Rules, substitution, sender names, hours and zones (inside load_table's snapshot)."""
    cur = await conn.execute(
        "SELECT rule, interface_id, weight FROM settings_read.routing_rule_targets"
        " ORDER BY rule, position"
    )
    targets: dict[str, list[Target]] = {}
    for rule, interface_id, weight in await cur.fetchall():
        targets.setdefault(rule, []).append(Target(interface_id, weight))
    cur = await conn.execute(
        "SELECT name, priority, action, enabled, coalesce(partner, ''), coalesce(sender, ''),"
        " coalesce(direction, ''), coalesce(operator, ''), coalesce(channel, ''),"
        " coalesce(traffic_type, %s) FROM settings_read.routing_rules",
        (ANY_TRAFFIC,),
    )
    rules = tuple(
        Rule(
            name=name,
            priority=priority,
            action=action,
            enabled=enabled,
            partner=partner,
            sender=sender,
            direction=direction,
            operator=operator,
            channel=channel_pb2.Channel.Value(f"CHANNEL_{channel}") if channel else 0,
            traffic_type=traffic_type,
            targets=tuple(targets.get(name, ())),
        )
        for (
            name,
            priority,
            action,
            enabled,
            partner,
            sender,
            direction,
            operator,
            channel,
            traffic_type,
        ) in await cur.fetchall()
    )
    cur = await conn.execute(
        "SELECT name, priority, enabled, sender_pattern, only_unregistered, replacement,"
        " coalesce(partner, ''), coalesce(direction, ''), coalesce(operator, '')"
        " FROM settings_read.substitution_rules"
    )
    specs = [SubstitutionRuleSpec(*row) for row in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT sender_name, operator FROM settings_read.sender_name_operators"
    )
    registered: list[tuple[str, str]] = await cur.fetchall()
    cur = await conn.execute("SELECT name, traffic_type FROM settings_read.sender_names")
    sender_types = {name.casefold(): t for name, t in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT traffic_type, allowed_from, allowed_to, outside FROM settings_read.traffic_policies"
    )
    hours = {t: HoursPolicy(a, b, refuse=o == "refuse") for t, a, b, o in await cur.fetchall()}
    cur = await conn.execute("SELECT region, time_zone FROM settings_read.region_time_zones")
    zones: dict[str, str] = dict(await cur.fetchall())
    cur = await conn.execute("SELECT id FROM settings_read.interfaces WHERE enabled")
    enabled = frozenset(row[0] for row in await cur.fetchall())
    return Policy(
        rules=rules,
        substitutions=Substitutions(specs, registered),
        sender_types=sender_types,
        hours=hours,
        region_zones=zones,
        enabled_interfaces=enabled,
    )
