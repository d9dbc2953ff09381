"""Versioned settings: each change is a revision (who, when, from where, before/after of
every changed row) plus an audit entry, written in the transaction that makes the change.

Rows are kept as JSON "states" per (entity, key); a revision can be restored by putting
back, for every key changed since, the state it had then (``restore``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from rcs_runtime.cluster_role import refused_on_standby
from rcs_runtime.errors import RcsError, Reason

State = dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Change:
    entity: str
    key: str
    before: State
    after: State


async def commit_revision(
    conn: psycopg.AsyncConnection,
    *,
    actor: str,
    remote_ip: str,
    summary: str,
    changes: list[Change],
) -> int:
    """Record the changes as the next revision (0 when there are none). Taking the row
    lock on settings_revision serialises writers, so revisions are gap-free and ordered."""
    if not changes:
        return 0
    async with refused_on_standby():  # the one gate of settings writes on a standby
        cur = await conn.execute(
            "UPDATE settings_revision SET revision = revision + 1, changed_at = now()"
            " RETURNING revision"
        )
    row = await cur.fetchone()
    assert row is not None
    revision = int(row[0])
    doc = json.dumps(
        [{"entity": c.entity, "key": c.key, "before": c.before, "after": c.after} for c in changes]
    )
    await conn.execute(
        "INSERT INTO settings_revisions (revision, actor, remote_ip, summary, changes)"
        " VALUES (%s, %s, %s, %s, %s::jsonb)",
        (revision, actor, remote_ip, summary, doc),
    )
    await audit(
        conn,
        actor=actor,
        remote_ip=remote_ip,
        action="settings.change",
        target=summary,
        revision=revision,
        details={"changed": [f"{c.entity}:{c.key}" for c in changes]},
    )
    return revision


async def lock_settings(conn: psycopg.AsyncConnection) -> None:
    """Serialise with every other settings writer (commit_revision and the number-plan
    import take the same row lock) until the transaction ends, so that what a check reads
    across rows (overlapping ranges, substitution cycles) still holds when it commits."""
    await conn.execute("SELECT 1 FROM settings_revision FOR UPDATE")


async def audit(
    conn: psycopg.AsyncConnection,
    *,
    actor: str,
    remote_ip: str,
    action: str,
    target: str = "",
    revision: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (actor, remote_ip, action, target, revision, details)"
        " VALUES (%s, %s, %s, %s, %s, %s::jsonb)",
        (actor, remote_ip, action, target, revision, json.dumps(details or {})),
    )


# -- entity states --------------------------------------------------------------------------

_PARTNER_FIELDS = (
    "login",
    "password_hash",
    "default_sender",
    "default_ttl_seconds",
    "block_duplicates",
    "duplicate_window_seconds",
    "allowed_subnets",
    "report_url",
    "inbound_url",
    "max_smpp_sessions",
    "senders",
    "smpp_password_hash",
    "smpp_standard_tlvs_only",
)
# What a partner state stored before a field existed restores to ("any address", no URL,
# no session limit).
_PARTNER_DEFAULTS: dict[str, Any] = {
    "allowed_subnets": [],
    "report_url": "",
    "inbound_url": "",
    "max_smpp_sessions": 0,
    "senders": [],
    "smpp_password_hash": None,
    "smpp_standard_tlvs_only": False,
}


async def partner_state(conn: psycopg.AsyncConnection, login: str) -> State:
    cur = await conn.execute(
        "SELECT login, password_hash, default_sender, default_ttl_seconds, block_duplicates,"
        " duplicate_window_seconds, allowed_subnets::text[], report_url, inbound_url,"
        " max_smpp_sessions, senders, smpp_password_hash, smpp_standard_tlvs_only"
        " FROM partners WHERE login = %s",
        (login,),
    )
    row = await cur.fetchone()
    return dict(zip(_PARTNER_FIELDS, row, strict=True)) if row else None


async def put_partner(conn: psycopg.AsyncConnection, login: str, state: State) -> None:
    if state is None:
        await conn.execute("DELETE FROM partners WHERE login = %s", (login,))
        return
    values = {**_PARTNER_DEFAULTS, **state}
    await conn.execute(
        "INSERT INTO partners (login, password_hash, default_sender, default_ttl_seconds,"
        " block_duplicates, duplicate_window_seconds, allowed_subnets, report_url, inbound_url,"
        " max_smpp_sessions, senders, smpp_password_hash, smpp_standard_tlvs_only)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s::cidr[], %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (login) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
        " default_sender = EXCLUDED.default_sender,"
        " default_ttl_seconds = EXCLUDED.default_ttl_seconds,"
        " block_duplicates = EXCLUDED.block_duplicates,"
        " duplicate_window_seconds = EXCLUDED.duplicate_window_seconds,"
        " allowed_subnets = EXCLUDED.allowed_subnets, report_url = EXCLUDED.report_url,"
        " inbound_url = EXCLUDED.inbound_url, max_smpp_sessions = EXCLUDED.max_smpp_sessions,"
        " senders = EXCLUDED.senders, smpp_password_hash = EXCLUDED.smpp_password_hash,"
        " smpp_standard_tlvs_only = EXCLUDED.smpp_standard_tlvs_only",
        tuple(values[f] for f in _PARTNER_FIELDS),
    )


def blacklist_key(partner: str, number: str) -> str:
    return f"{partner}:{number}"


async def blacklist_state(conn: psycopg.AsyncConnection, partner: str, number: str) -> State:
    cur = await conn.execute(
        "SELECT b.note FROM blacklist b LEFT JOIN partners p ON p.id = b.partner_id"
        " WHERE b.number = %s AND coalesce(p.login, '') = %s",
        (number, partner),
    )
    row = await cur.fetchone()
    return {"partner": partner, "number": number, "note": row[0]} if row else None


async def put_blacklist(conn: psycopg.AsyncConnection, key: str, state: State) -> None:
    partner, _, number = key.rpartition(":")
    if state is None:
        await conn.execute(
            "DELETE FROM blacklist b USING (SELECT NULLIF(%s, '') AS login) AS t"
            " WHERE b.number = %s AND b.partner_id IS NOT DISTINCT FROM"
            " (SELECT id FROM partners WHERE login = t.login)",
            (partner, number),
        )
        return
    await conn.execute(
        "INSERT INTO blacklist (partner_id, number, note)"
        " VALUES ((SELECT id FROM partners WHERE login = NULLIF(%s, '')), %s, %s)"
        " ON CONFLICT (coalesce(partner_id, 0), number) DO UPDATE SET note = EXCLUDED.note",
        (partner, number, state["note"]),
    )


async def operator_state(conn: psycopg.AsyncConnection, name: str) -> State:
    cur = await conn.execute(
        "SELECT o.name, o.mcc, o.mnc, coalesce(array_agg(r.interface_id ORDER BY r.priority,"
        " r.interface_id) FILTER (WHERE r.interface_id IS NOT NULL), '{}')"
        " FROM operators o LEFT JOIN operator_routes r ON r.operator_id = o.id"
        " WHERE o.name = %s GROUP BY o.id",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {"name": row[0], "mcc": row[1], "mnc": row[2], "interface_ids": list(row[3])}


async def put_operator(conn: psycopg.AsyncConnection, name: str, state: State) -> None:
    if state is None:
        await conn.execute("DELETE FROM operators WHERE name = %s", (name,))
        return
    cur = await conn.execute(
        "INSERT INTO operators (name, mcc, mnc) VALUES (%s, %s, %s) ON CONFLICT (name)"
        " DO UPDATE SET mcc = EXCLUDED.mcc, mnc = EXCLUDED.mnc RETURNING id",
        (name, state["mcc"], state["mnc"]),
    )
    row = await cur.fetchone()
    assert row is not None
    await conn.execute("DELETE FROM operator_routes WHERE operator_id = %s", (row[0],))
    await conn.execute(
        "INSERT INTO operator_routes (operator_id, interface_id, priority)"
        " SELECT %s, i, n FROM unnest(%s::text[]) WITH ORDINALITY AS t(i, n)",
        (row[0], state["interface_ids"]),
    )


_INTERFACE_FIELDS = (
    "id",
    "host",
    "port",
    "system_id",
    "password",
    "system_type",
    "window_size",
    "throughput_per_second",
    "enabled",
)


async def interface_state(conn: psycopg.AsyncConnection, interface_id: str) -> State:
    cur = await conn.execute(
        f"SELECT {', '.join(_INTERFACE_FIELDS)} FROM interfaces WHERE id = %s",  # noqa: S608
        (interface_id,),
    )
    row = await cur.fetchone()
    return dict(zip(_INTERFACE_FIELDS, row, strict=True)) if row else None


async def put_interface(conn: psycopg.AsyncConnection, interface_id: str, state: State) -> None:
    if state is None:
        await conn.execute("DELETE FROM interfaces WHERE id = %s", (interface_id,))
        return
    await conn.execute(
        "INSERT INTO interfaces (id, host, port, system_id, password, system_type, window_size,"
        " throughput_per_second, enabled) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, port = EXCLUDED.port,"
        " system_id = EXCLUDED.system_id, password = EXCLUDED.password,"
        " system_type = EXCLUDED.system_type, window_size = EXCLUDED.window_size,"
        " throughput_per_second = EXCLUDED.throughput_per_second, enabled = EXCLUDED.enabled",
        tuple(state[f] for f in _INTERFACE_FIELDS),
    )


async def policy_state(conn: psycopg.AsyncConnection, _key: str = "installation") -> State:
    cur = await conn.execute(
        "SELECT inactive_threshold, extract(epoch FROM inactive_window)::bigint,"
        " extract(epoch FROM inactive_ttl)::bigint, inactive_codes FROM verification_policy"
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {
        "inactive_threshold": row[0],
        "inactive_window_seconds": row[1],
        "inactive_ttl_seconds": row[2],
        "inactive_codes": list(row[3]),
    }


async def put_policy(conn: psycopg.AsyncConnection, _key: str, state: State) -> None:
    if state is None:
        return  # the policy row always exists
    await conn.execute(
        "UPDATE verification_policy SET inactive_threshold = %s,"
        " inactive_window = make_interval(secs => %s), inactive_ttl = make_interval(secs => %s),"
        " inactive_codes = %s",
        (
            state["inactive_threshold"],
            state["inactive_window_seconds"],
            state["inactive_ttl_seconds"],
            state["inactive_codes"],
        ),
    )


# -- routing policy (migration 0007) and hand-made directions ---------------------------------


async def direction_state(conn: psycopg.AsyncConnection, name: str) -> State:
    """A direction with its prefixes and ranges ([start, end] pairs), both sorted."""
    cur = await conn.execute(
        "SELECT d.name, o.name, d.region, d.source,"
        " coalesce((SELECT array_agg(p.prefix ORDER BY p.prefix) FROM direction_prefixes p"
        " WHERE p.direction_id = d.id), '{}'),"
        " coalesce((SELECT array_agg(ARRAY[r.range_start, r.range_end] ORDER BY r.range_start)"
        " FROM direction_ranges r WHERE r.direction_id = d.id), '{}')"
        " FROM directions d JOIN operators o ON o.id = d.operator_id WHERE d.name = %s",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {
        "name": row[0],
        "operator": row[1],
        "region": row[2],
        "source": row[3],
        "prefixes": list(row[4]),
        "ranges": [[int(a), int(b)] for a, b in row[5]],
    }


async def put_direction(conn: psycopg.AsyncConnection, name: str, state: State) -> None:
    """Only hand-made directions are written: plan ones change by importing the plan."""
    if state is None:
        await conn.execute(
            "DELETE FROM directions WHERE name = %s AND source = 'manual'", (name,)
        )  # prefixes and ranges go with it (ON DELETE CASCADE)
        return
    cur = await conn.execute(
        "INSERT INTO directions (name, operator_id, region, source)"
        " VALUES (%s, (SELECT id FROM operators WHERE name = %s), %s, 'manual')"
        " ON CONFLICT (name) DO UPDATE SET operator_id = EXCLUDED.operator_id,"
        " region = EXCLUDED.region WHERE directions.source = 'manual' RETURNING id",
        (name, state["operator"], state["region"]),
    )
    row = await cur.fetchone()
    if row is None:  # the plan took the name since (a rollback to before that)
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"direction {name!r} is a number-plan direction now: change it by re-importing"
            " the number plan",
        )
    await conn.execute("DELETE FROM direction_prefixes WHERE direction_id = %s", (row[0],))
    await conn.execute("DELETE FROM direction_ranges WHERE direction_id = %s", (row[0],))
    # PutDirection has refused prefixes and ranges of other directions already; a rollback
    # may put a prefix back before restoring the direction that holds it now (same rank),
    # and that one is restored in the same step, so here the row just moves.
    await conn.execute(
        "INSERT INTO direction_prefixes (prefix, direction_id) SELECT p, %s FROM unnest(%s::text[])"
        " AS t(p) ON CONFLICT (prefix) DO UPDATE SET direction_id = EXCLUDED.direction_id",
        (row[0], state["prefixes"]),
    )
    await conn.execute(
        "INSERT INTO direction_ranges (range_start, range_end, direction_id)"
        " SELECT a, b, %s FROM unnest(%s::bigint[], %s::bigint[]) AS t(a, b)"
        " ON CONFLICT (range_start, range_end) DO UPDATE SET direction_id = EXCLUDED.direction_id",
        (row[0], [r[0] for r in state["ranges"]], [r[1] for r in state["ranges"]]),
    )


async def sender_name_state(conn: psycopg.AsyncConnection, name: str) -> State:
    cur = await conn.execute(
        "SELECT s.name, s.traffic_type, s.note, coalesce(array_agg(o.operator ORDER BY"
        " o.operator) FILTER (WHERE o.operator IS NOT NULL), '{}') FROM sender_names s"
        " LEFT JOIN sender_name_operators o ON o.sender_name = s.name"
        " WHERE s.name = %s GROUP BY s.name",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {"name": row[0], "traffic_type": row[1], "operators": list(row[3]), "note": row[2]}


async def put_sender_name(conn: psycopg.AsyncConnection, name: str, state: State) -> None:
    if state is None:
        await conn.execute("DELETE FROM sender_names WHERE name = %s", (name,))
        return
    await conn.execute(
        "INSERT INTO sender_names (name, traffic_type, note) VALUES (%s, %s, %s)"
        " ON CONFLICT (name) DO UPDATE SET traffic_type = EXCLUDED.traffic_type,"
        " note = EXCLUDED.note",
        (name, state["traffic_type"], state["note"]),
    )
    await conn.execute("DELETE FROM sender_name_operators WHERE sender_name = %s", (name,))
    await conn.execute(
        "INSERT INTO sender_name_operators (sender_name, operator)"
        " SELECT %s, o FROM unnest(%s::text[]) AS t(o)",
        (name, state["operators"]),
    )


# Condition columns: NULL in the table ("any") is "" in the state, as in the API.
_RULE_CONDITIONS = ("partner", "sender", "direction", "operator", "channel")


async def routing_rule_state(conn: psycopg.AsyncConnection, name: str) -> State:
    cur = await conn.execute(
        "SELECT name, priority, enabled, action, coalesce(partner, ''), coalesce(sender, ''),"
        " coalesce(direction, ''), coalesce(operator, ''), coalesce(channel, ''), traffic_type,"
        " note FROM routing_rules WHERE name = %s",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    fields = ("name", "priority", "enabled", "action", *_RULE_CONDITIONS, "traffic_type", "note")
    state: dict[str, Any] = dict(zip(fields, row, strict=True))
    cur = await conn.execute(
        "SELECT interface_id, weight FROM routing_rule_targets WHERE rule = %s ORDER BY position",
        (name,),
    )
    state["targets"] = [{"interface_id": i, "weight": w} for i, w in await cur.fetchall()]
    return state


async def put_routing_rule(conn: psycopg.AsyncConnection, name: str, state: State) -> None:
    if state is None:
        await conn.execute("DELETE FROM routing_rules WHERE name = %s", (name,))
        return  # targets go with it (ON DELETE CASCADE)
    await conn.execute(
        "INSERT INTO routing_rules (name, priority, enabled, action, partner, sender, direction,"
        " operator, channel, traffic_type, note) VALUES (%s, %s, %s, %s, NULLIF(%s, ''),"
        " NULLIF(%s, ''), NULLIF(%s, ''), NULLIF(%s, ''), NULLIF(%s, ''), %s, %s)"
        " ON CONFLICT (name) DO UPDATE SET priority = EXCLUDED.priority,"
        " enabled = EXCLUDED.enabled, action = EXCLUDED.action, partner = EXCLUDED.partner,"
        " sender = EXCLUDED.sender, direction = EXCLUDED.direction,"
        " operator = EXCLUDED.operator, channel = EXCLUDED.channel,"
        " traffic_type = EXCLUDED.traffic_type, note = EXCLUDED.note",
        (
            name,
            state["priority"],
            state["enabled"],
            state["action"],
            *(state[c] for c in _RULE_CONDITIONS),
            state["traffic_type"],
            state["note"],
        ),
    )
    await conn.execute("DELETE FROM routing_rule_targets WHERE rule = %s", (name,))
    await conn.execute(
        "INSERT INTO routing_rule_targets (rule, position, interface_id, weight)"
        " SELECT %s, n, i, w FROM unnest(%s::text[], %s::int[]) WITH ORDINALITY AS t(i, w, n)",
        (
            name,
            [t["interface_id"] for t in state["targets"]],
            [t["weight"] for t in state["targets"]],
        ),
    )


_SUBSTITUTION_FIELDS = (
    "name",
    "priority",
    "enabled",
    "sender_pattern",
    "only_unregistered",
    "replacement",
    "partner",
    "direction",
    "operator",
    "note",
)


async def substitution_rule_state(conn: psycopg.AsyncConnection, name: str) -> State:
    rules = await substitution_rules(conn, name)
    return rules[0] if rules else None


async def substitution_rules(
    conn: psycopg.AsyncConnection, name: str | None = None
) -> list[dict[str, Any]]:
    """One rule's state, or (name None) every rule's: the cycle check needs them all."""
    cur = await conn.execute(
        "SELECT name, priority, enabled, sender_pattern, only_unregistered, replacement,"
        " coalesce(partner, ''), coalesce(direction, ''), coalesce(operator, ''), note"
        " FROM substitution_rules WHERE %s::text IS NULL OR name = %s ORDER BY name",
        (name, name),
    )
    return [dict(zip(_SUBSTITUTION_FIELDS, row, strict=True)) for row in await cur.fetchall()]


async def put_substitution_rule(conn: psycopg.AsyncConnection, name: str, state: State) -> None:
    if state is None:
        await conn.execute("DELETE FROM substitution_rules WHERE name = %s", (name,))
        return
    await conn.execute(
        "INSERT INTO substitution_rules (name, priority, enabled, sender_pattern,"
        " only_unregistered, replacement, partner, direction, operator, note)"
        " VALUES (%s, %s, %s, %s, %s, %s, NULLIF(%s, ''), NULLIF(%s, ''), NULLIF(%s, ''), %s)"
        " ON CONFLICT (name) DO UPDATE SET priority = EXCLUDED.priority,"
        " enabled = EXCLUDED.enabled, sender_pattern = EXCLUDED.sender_pattern,"
        " only_unregistered = EXCLUDED.only_unregistered, replacement = EXCLUDED.replacement,"
        " partner = EXCLUDED.partner, direction = EXCLUDED.direction,"
        " operator = EXCLUDED.operator, note = EXCLUDED.note",
        tuple(state[f] for f in _SUBSTITUTION_FIELDS),
    )


async def traffic_policy_state(conn: psycopg.AsyncConnection, traffic_type: str) -> State:
    cur = await conn.execute(
        "SELECT traffic_type, to_char(allowed_from, 'HH24:MI'), to_char(allowed_to, 'HH24:MI'),"
        " outside FROM traffic_policies WHERE traffic_type = %s",
        (int(traffic_type),),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {"traffic_type": row[0], "allowed_from": row[1], "allowed_to": row[2], "outside": row[3]}


async def put_traffic_policy(
    conn: psycopg.AsyncConnection, traffic_type: str, state: State
) -> None:
    if state is None:
        await conn.execute(
            "DELETE FROM traffic_policies WHERE traffic_type = %s", (int(traffic_type),)
        )
        return
    await conn.execute(
        "INSERT INTO traffic_policies (traffic_type, allowed_from, allowed_to, outside)"
        " VALUES (%s, %s::time, %s::time, %s) ON CONFLICT (traffic_type) DO UPDATE SET"
        " allowed_from = EXCLUDED.allowed_from, allowed_to = EXCLUDED.allowed_to,"
        " outside = EXCLUDED.outside",
        (int(traffic_type), state["allowed_from"], state["allowed_to"], state["outside"]),
    )


async def region_time_zone_state(conn: psycopg.AsyncConnection, region: str) -> State:
    cur = await conn.execute("SELECT time_zone FROM region_time_zones WHERE region = %s", (region,))
    row = await cur.fetchone()
    return {"region": region, "time_zone": row[0]} if row else None


async def put_region_time_zone(conn: psycopg.AsyncConnection, region: str, state: State) -> None:
    if state is None:
        await conn.execute("DELETE FROM region_time_zones WHERE region = %s", (region,))
        return
    await conn.execute(
        "INSERT INTO region_time_zones (region, time_zone) VALUES (%s, %s)"
        " ON CONFLICT (region) DO UPDATE SET time_zone = EXCLUDED.time_zone",
        (region, state["time_zone"]),
    )


def whitelist_key(partner: str, mailing: str, number: str) -> str:
    """Logins and mailings have no ':' (their patterns exclude it), numbers are digits."""
    return f"{partner}:{mailing}:{number}"


async def whitelist_state(conn: psycopg.AsyncConnection, key: str) -> State:
    partner, mailing, number = key.split(":")
    cur = await conn.execute(
        "SELECT note FROM whitelist WHERE partner = %s AND mailing = %s AND number = %s",
        (partner, mailing, number),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {"partner": partner, "mailing": mailing, "number": number, "note": row[0]}


async def put_whitelist(conn: psycopg.AsyncConnection, key: str, state: State) -> None:
    partner, mailing, number = key.split(":")
    if state is None:
        await conn.execute(
            "DELETE FROM whitelist WHERE partner = %s AND mailing = %s AND number = %s",
            (partner, mailing, number),
        )
        return
    await conn.execute(
        "INSERT INTO whitelist (partner, mailing, number, note) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (partner, mailing, number) DO UPDATE SET note = EXCLUDED.note",
        (partner, mailing, number, state["note"]),
    )


_INBOUND_ROUTE_FIELDS = (
    "name",
    "number",
    "keyword",
    "partner",
    "format",
    "unavailable_text",
    "timeout_seconds",
    "session_keyword",
    "session_close_keyword",
    "session_seconds",
    "session_open_text",
    "session_close_text",
    "session_expired_text",
)
# What revisions from before a field existed stand for (migrations 0019, 0020, 0021).
INBOUND_ROUTE_DEFAULTS: dict[str, str | int] = {
    "unavailable_text": "",
    "timeout_seconds": 0,
    "session_keyword": "",
    "session_close_keyword": "",
    "session_seconds": 0,
    "session_open_text": "",
    "session_close_text": "",
    "session_expired_text": "",
}
# (number, keyword) is unique at commit (migration 0014): a rollback may move a pair from
# one route to another in either order.
_PUT_INBOUND_ROUTE = (
    f"INSERT INTO inbound_routes ({', '.join(_INBOUND_ROUTE_FIELDS)})"  # noqa: S608 (constant columns)
    f" VALUES ({', '.join(['%s'] * len(_INBOUND_ROUTE_FIELDS))}) ON CONFLICT (name) DO UPDATE"
    f" SET {', '.join(f'{f} = EXCLUDED.{f}' for f in _INBOUND_ROUTE_FIELDS[1:])}"
)


async def inbound_route_state(conn: psycopg.AsyncConnection, name: str) -> State:
    cur = await conn.execute(
        f"SELECT {', '.join(_INBOUND_ROUTE_FIELDS)} FROM inbound_routes WHERE name = %s",  # noqa: S608
        (name,),
    )
    row = await cur.fetchone()
    return dict(zip(_INBOUND_ROUTE_FIELDS, row, strict=True)) if row else None


async def put_inbound_route(conn: psycopg.AsyncConnection, name: str, state: State) -> None:
    if state is None:
        await conn.execute("DELETE FROM inbound_routes WHERE name = %s", (name,))
        return
    await conn.execute(
        _PUT_INBOUND_ROUTE,
        tuple(state.get(f, INBOUND_ROUTE_DEFAULTS.get(f)) for f in _INBOUND_ROUTE_FIELDS),
    )


# -- dispatch by entity -----------------------------------------------------------------------

StateReader = Callable[[psycopg.AsyncConnection, str], Awaitable[State]]
StateWriter = Callable[[psycopg.AsyncConnection, str, State], Awaitable[None]]


async def _blacklist_by_key(conn: psycopg.AsyncConnection, key: str) -> State:
    partner, _, number = key.rpartition(":")
    return await blacklist_state(conn, partner, number)


_current: dict[str, StateReader] = {
    "verification_policy": policy_state,
    "partner": partner_state,
    "blacklist": _blacklist_by_key,
    "operator": operator_state,
    "interface": interface_state,
    "direction": direction_state,
    "sender_name": sender_name_state,
    "routing_rule": routing_rule_state,
    "substitution_rule": substitution_rule_state,
    "traffic_policy": traffic_policy_state,
    "region_time_zone": region_time_zone_state,
    "whitelist": whitelist_state,
    "inbound_route": inbound_route_state,
}
_PUT: dict[str, StateWriter] = {
    "partner": put_partner,
    "blacklist": put_blacklist,
    "operator": put_operator,
    "interface": put_interface,
    "verification_policy": put_policy,
    "direction": put_direction,
    "sender_name": put_sender_name,
    "routing_rule": put_routing_rule,
    "substitution_rule": put_substitution_rule,
    "traffic_policy": put_traffic_policy,
    "region_time_zone": put_region_time_zone,
    "whitelist": put_whitelist,
    "inbound_route": put_inbound_route,
}
ENTITIES = frozenset(_PUT)  # what a revision's changes may name
# Restore order: what others refer to comes back first and goes away last. Ranks stay
# below 5: ``restore`` sorts removals by 10 - rank.
_DEPENDENCY_RANK = {
    "interface": 0,
    "partner": 0,
    "verification_policy": 0,
    "traffic_policy": 0,
    "region_time_zone": 0,
    "operator": 1,
    "blacklist": 2,
    "whitelist": 1,  # its partner
    "direction": 2,  # its operator
    "sender_name": 2,  # the operators it is registered with
    "routing_rule": 3,  # partner, direction, operator, interfaces
    "substitution_rule": 3,  # partner, direction, operator
    "inbound_route": 3,  # its partner
}


async def state_of(conn: psycopg.AsyncConnection, entity: str, key: str) -> State:
    """The current state of one row of ``entity`` (None when there is none)."""
    return await _current[entity](conn, key)


async def put_state(conn: psycopg.AsyncConnection, entity: str, key: str, state: State) -> None:
    """Write (or, for None, remove) one row of ``entity``."""
    await _PUT[entity](conn, key, state)


async def restore(conn: psycopg.AsyncConnection, revision: int) -> list[Change]:
    """Put back, for every key changed after ``revision``, the state it had at
    ``revision``; returns the changes made (to be committed as a new revision)."""
    cur = await conn.execute(
        "SELECT changes FROM settings_revisions WHERE revision > %s ORDER BY revision",
        (revision,),
    )
    target: dict[tuple[str, str], State] = {}
    for (changes,) in await cur.fetchall():
        for c in changes:
            target.setdefault((c["entity"], c["key"]), c["before"])  # first change after

    def rank(item: tuple[tuple[str, str], State]) -> int:
        (entity, _), state = item
        r = _DEPENDENCY_RANK[entity]
        return r if state is not None else 10 - r  # removals after every put, dependents first

    order = sorted(target.items(), key=rank)
    made: list[Change] = []
    for (entity, key), state in order:
        current = await _current[entity](conn, key)
        if current != state:
            await _PUT[entity](conn, key, state)
            made.append(Change(entity, key, current, state))
    if any(c.entity == "inbound_route" for c in made):
        await _inbound_pairs_unique(conn)
    return made


async def _inbound_pairs_unique(conn: psycopg.AsyncConnection) -> None:
    """Check the deferred (number, keyword) uniqueness now, to refuse with a reason rather
    than fail at commit. Only a route written outside the settings API can collide here."""
    try:
        await conn.execute("SET CONSTRAINTS inbound_routes_number_keyword_key IMMEDIATE")
    except psycopg.errors.UniqueViolation as exc:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "the rollback would give two inbound routes the same number and keyword"
            f" ({exc.diag.message_detail}): change or delete the other route first",
        ) from exc
