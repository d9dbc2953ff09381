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
)


async def partner_state(conn: psycopg.AsyncConnection, login: str) -> State:
    cur = await conn.execute(
        f"SELECT {', '.join(_PARTNER_FIELDS)} FROM partners WHERE login = %s",  # noqa: S608
        (login,),
    )
    row = await cur.fetchone()
    return dict(zip(_PARTNER_FIELDS, row, strict=True)) if row else None


async def put_partner(conn: psycopg.AsyncConnection, login: str, state: State) -> None:
    if state is None:
        await conn.execute("DELETE FROM partners WHERE login = %s", (login,))
        return
    await conn.execute(
        "INSERT INTO partners (login, password_hash, default_sender, default_ttl_seconds,"
        " block_duplicates, duplicate_window_seconds) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (login) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
        " default_sender = EXCLUDED.default_sender,"
        " default_ttl_seconds = EXCLUDED.default_ttl_seconds,"
        " block_duplicates = EXCLUDED.block_duplicates,"
        " duplicate_window_seconds = EXCLUDED.duplicate_window_seconds",
        tuple(state[f] for f in _PARTNER_FIELDS),
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


async def _current(conn: psycopg.AsyncConnection, entity: str, key: str) -> State:
    if entity == "verification_policy":
        return await policy_state(conn, key)
    if entity == "partner":
        return await partner_state(conn, key)
    if entity == "operator":
        return await operator_state(conn, key)
    if entity == "interface":
        return await interface_state(conn, key)
    partner, _, number = key.rpartition(":")
    return await blacklist_state(conn, partner, number)


_PUT: dict[str, Callable[[psycopg.AsyncConnection, str, State], Awaitable[None]]] = {
    "partner": put_partner,
    "blacklist": put_blacklist,
    "operator": put_operator,
    "interface": put_interface,
    "verification_policy": put_policy,
}
# Restore order: what others refer to comes back first and goes away last.
_DEPENDENCY_RANK = {
    "interface": 0,
    "partner": 0,
    "verification_policy": 0,
    "operator": 1,
    "blacklist": 2,
}


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
        current = await _current(conn, entity, key)
        if current != state:
            await _PUT[entity](conn, key, state)
            made.append(Change(entity, key, current, state))
    return made
