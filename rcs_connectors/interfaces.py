"""The SMPP interfaces (operator binds) this connector keeps, read from the settings through
the declared read contract (the settings_read views of migration 0090)."""

from __future__ import annotations

from dataclasses import dataclass

from rcs_runtime.settings_read import snapshot


@dataclass(frozen=True, slots=True)
class SmppInterface:
    id: str
    host: str
    port: int
    system_id: str
    password: str
    system_type: str
    window: int
    throughput_per_second: int


async def load(dsn: str) -> tuple[int, list[SmppInterface]]:
    """(settings revision, enabled SMPP interfaces) from one snapshot."""
    async with snapshot(dsn) as (conn, revision):
        cur = await conn.execute(
            "SELECT id, host, port, system_id, password, system_type, window_size,"
            " throughput_per_second FROM settings_read.interfaces"
            " WHERE enabled AND kind = 'smpp' ORDER BY id"
        )
        return revision, [SmppInterface(*r) for r in await cur.fetchall()]
