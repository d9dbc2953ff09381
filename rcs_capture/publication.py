"""Installation side of change capture: the publication and the Debezium connector, which
Kafka Connect runs, configured over Connect's REST API.

A master captures settings and transactions, a standby transactions only; the cluster agent
switches the publication when its installation's role changes (``rcs_cluster/capture.py``). The
role lives in the publication's table list, not in the connector: Debezium's own filter
takes every captured table and the connector is never restarted for a role change, so its
slot and topics go on without a gap or a repeat. The switch happens at the WAL position of
the ALTER PUBLICATION: settings changed on a standby before it are never decoded, even if
Debezium replays older WAL after a restart.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import aiohttp
import psycopg
from psycopg import sql

from rcs_capture import tables

_TIMEOUT = aiohttp.ClientTimeout(total=30)


class CaptureError(RuntimeError):
    """Kafka Connect refused or failed a request; the message says what it answered."""


@dataclass(frozen=True)
class CaptureTarget:
    """One installation's connector.

    ``database_url`` is the installation's PostgreSQL as Kafka Connect reaches it (a user
    with REPLICATION). ``topic_root`` starts every topic name: topics are
    ``<topic_root>.i<installation>.public.<table>``; it and the installation id must never
    change once the connector ran (Debezium keys its offsets by them).
    """

    connect_url: str
    installation_id: int
    database_url: str
    topic_root: str = "rcs"

    @property
    def topic_prefix(self) -> str:
        return f"{self.topic_root}.i{self.installation_id}"

    @property
    def connector_name(self) -> str:
        return f"rcs-dwh-{self.topic_prefix}"

    @property
    def slot_name(self) -> str:
        # Slot names: lower-case letters, digits and underscores, at most 63 characters.
        return re.sub(r"[^a-z0-9_]", "_", f"rcs_dwh_{self.topic_prefix}".lower())[:63]


def connector_config(target: CaptureTarget, role: str) -> dict[str, str]:
    info = psycopg.conninfo.conninfo_to_dict(target.database_url)
    return {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1",
        "plugin.name": "pgoutput",
        "database.hostname": str(info.get("host") or "127.0.0.1"),
        "database.port": str(info.get("port") or 5432),
        "database.user": str(info.get("user") or "postgres"),
        "database.password": str(info.get("password") or ""),
        "database.dbname": str(info.get("dbname") or "postgres"),
        "topic.prefix": target.topic_prefix,
        "slot.name": target.slot_name,
        "publication.name": tables.PUBLICATION,
        "publication.autocreate.mode": "disabled",
        "schema.include.list": tables.SCHEMA,
        "table.include.list": ",".join(f"{tables.SCHEMA}\\.{t}" for t in tables.ALL_TABLES),
        # The first snapshot takes only the role's tables (a standby's settings never go).
        "snapshot.include.collection.list": ",".join(
            f"{tables.SCHEMA}\\.{t}" for t in tables.tables_for(role)
        ),
        "column.exclude.list": ",".join(
            f"{tables.SCHEMA}\\.{c.replace('.', chr(92) + '.')}" for c in tables.EXCLUDED_COLUMNS
        ),
        # Bare envelopes: a third of the bytes with schemas, and rcs_dwh needs none.
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "decimal.handling.mode": "string",
        "snapshot.mode": "initial",
        # Truncates too (Debezium skips them by default).
        "skipped.operations": "none",
        "tombstones.on.delete": "true",
        # Keeps the slot's confirmed position moving while the captured tables are quiet.
        "heartbeat.interval.ms": "5000",
        "poll.interval.ms": "100",
        "max.batch.size": "4096",
    }


async def set_publication(database_url: str, role: str) -> None:
    """Create the publication or set its tables for ``role`` (publish_via_partition_root,
    so a partitioned table's rows come under its own name, not each partition's)."""
    listed = sql.SQL(", ").join(sql.Identifier(tables.SCHEMA, t) for t in tables.tables_for(role))
    name = sql.Identifier(tables.PUBLICATION)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT 1 FROM pg_publication WHERE pubname = %s", (tables.PUBLICATION,)
        )
        if await cur.fetchone() is None:
            await conn.execute(
                sql.SQL(
                    "CREATE PUBLICATION {} FOR TABLE {} WITH (publish_via_partition_root = true)"
                ).format(name, listed)
            )
        else:
            await conn.execute(sql.SQL("ALTER PUBLICATION {} SET TABLE {}").format(name, listed))


async def configure_capture(target: CaptureTarget, role: str) -> None:
    """Capture as ``role`` ("master": settings and transactions; "standby": transactions
    only): the publication's tables, and the connector if it does not exist yet.
    Idempotent. The cluster agent switches the publication itself at each role change
    (``rcs_cluster/capture.py``) and only ensures the connector with ``ensure_connector``."""
    await set_publication(target.database_url, role)
    await ensure_connector(target, role)


async def ensure_connector(target: CaptureTarget, role: str) -> None:
    """Create the connector if Kafka Connect has none by its name (``role`` chooses what
    its first snapshot takes); an existing one is left as it is."""
    base = f"{target.connect_url.rstrip('/')}/connectors/{target.connector_name}"
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as http:
        async with http.get(f"{base}/config") as resp:
            if resp.status == 200:
                return
        async with http.put(f"{base}/config", json=connector_config(target, role)) as resp:
            if resp.status not in (200, 201):
                raise CaptureError(
                    f"Kafka Connect at {target.connect_url} refused connector "
                    f"{target.connector_name}: HTTP {resp.status} {await resp.text()}"
                )


async def capture_role(target: CaptureTarget) -> str | None:
    """The role the installation captures as now ("master", "standby"), None if none."""
    async with await psycopg.AsyncConnection.connect(target.database_url) as conn:
        cur = await conn.execute(
            "SELECT tablename FROM pg_publication_tables WHERE pubname = %s",
            (tables.PUBLICATION,),
        )
        captured = {r[0] for r in await cur.fetchall()}
    if not captured:
        return None
    return "master" if set(tables.SETTINGS_TABLES) & captured else "standby"


async def connector_state(target: CaptureTarget) -> tuple[str, list[str]]:
    """The connector's state and its tasks' states (RUNNING, FAILED, …)."""
    url = f"{target.connect_url.rstrip('/')}/connectors/{target.connector_name}/status"
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as http, http.get(url) as resp:
        if resp.status != 200:
            return ("MISSING", [])
        body = await resp.json()
    return (str(body["connector"]["state"]), [str(t["state"]) for t in body.get("tasks", [])])


async def remove_capture(target: CaptureTarget, *, drop_slot: bool = True) -> None:
    """Delete the connector and (by default) its replication slot, which otherwise keeps
    WAL on the installation forever."""
    url = f"{target.connect_url.rstrip('/')}/connectors/{target.connector_name}"
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as http, http.delete(url) as resp:
        if resp.status not in (200, 204, 404):
            raise CaptureError(f"Kafka Connect answered HTTP {resp.status}: {await resp.text()}")
    if not drop_slot:
        return
    async with await psycopg.AsyncConnection.connect(target.database_url, autocommit=True) as conn:
        for _ in range(100):  # the task lets go of the slot a moment after the delete
            cur = await conn.execute(
                "SELECT active FROM pg_replication_slots WHERE slot_name = %s",
                (target.slot_name,),
            )
            row = await cur.fetchone()
            if row is None:
                return
            if not row[0]:
                await conn.execute("SELECT pg_drop_replication_slot(%s)", (target.slot_name,))
                return
            await asyncio.sleep(0.1)
        raise CaptureError(f"replication slot {target.slot_name} is still in use")
