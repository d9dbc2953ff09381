"""Reads the transport settings of one revision and compiles them."""

from __future__ import annotations

import psycopg

from rcs_routing.table import Direction, RoutingTable


async def current_revision(conn: psycopg.AsyncConnection) -> int:
    cur = await conn.execute("SELECT revision FROM settings_revision")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def load_table(conn: psycopg.AsyncConnection) -> RoutingTable:
    """Compile from one consistent snapshot (REPEATABLE READ, read only)."""
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        revision = await current_revision(conn)
        cur = await conn.execute(
            "SELECT d.id, d.name, o.name, d.region FROM directions d"
            " JOIN operators o ON o.id = d.operator_id"
        )
        directions = {row[0]: Direction(row[1], row[2], row[3]) for row in await cur.fetchall()}
        cur = await conn.execute("SELECT prefix, direction_id FROM direction_prefixes")
        prefixes = [(p, directions[d]) for p, d in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT range_start, range_end, direction_id FROM direction_ranges"
        )
        ranges = [(s, e, directions[d]) for s, e, d in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT o.name, r.interface_id FROM operator_routes r"
            " JOIN operators o ON o.id = r.operator_id"
            " JOIN interfaces i ON i.id = r.interface_id"
            " WHERE i.enabled ORDER BY o.name, r.priority, r.interface_id"
        )
        by_operator: dict[str, list[str]] = {}
        for operator, interface_id in await cur.fetchall():
            by_operator.setdefault(operator, []).append(interface_id)
        cur = await conn.execute(
            "SELECT p.number::text, o.name FROM ported_numbers p"
            " JOIN operators o ON o.id = p.operator_id"
        )
        ported: list[tuple[str, str]] = await cur.fetchall()
    return RoutingTable(
        revision=revision,
        prefixes=prefixes,
        ranges=ranges,
        interfaces_by_operator=by_operator,
        ported=ported,
    )
