"""Settings revisions as a changes feed: read those after a revision (with full, unredacted
row states) and apply a master's revisions on a standby, as they were, in one transaction."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import psycopg

from rcs_core.settings import entities, store
from rcs_core.settings.states import ChangeRecord
from rcs_runtime.errors import RcsError, Reason


@dataclass(frozen=True, slots=True)
class Revision:
    revision: int
    actor: str
    remote_ip: str
    created_at: dt.datetime
    summary: str
    changes: list[ChangeRecord]


async def current_revision(conn: psycopg.AsyncConnection) -> int:
    cur = await conn.execute("SELECT revision FROM settings_revision")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def revisions_since(
    conn: psycopg.AsyncConnection, since: int, limit: int
) -> tuple[list[Revision], int]:
    """Up to ``limit`` revisions after ``since``, oldest first, and the current revision."""
    cur = await conn.execute(
        "SELECT revision, actor, remote_ip, created_at, summary, changes FROM settings_revisions"
        " WHERE revision > %s ORDER BY revision LIMIT %s",
        (since, limit),
    )
    rows = await cur.fetchall()
    return [Revision(*row) for row in rows], await current_revision(conn)


async def apply_revisions(
    conn: psycopg.AsyncConnection, revisions: list[Revision], *, master_id: int
) -> int:
    """Apply a master's revisions, which must follow this installation's current one without
    a gap, within the caller's transaction; returns the revision reached.

    ``rcs.settings_sync`` lets the revision bump past migration 0045's standby check: this is
    the one write a standby takes. A revision with no row changes (a number-plan import)
    only advances the revision: the plan itself is not copied (README, Known gaps)."""
    await conn.execute("SELECT set_config('rcs.settings_sync', 'on', true)")
    cur = await conn.execute("SELECT role FROM cluster_role FOR SHARE")
    role = await cur.fetchone()
    if role is not None and role[0] == "master":
        raise RcsError(
            Reason.SETTINGS_OUT_OF_SYNC,
            "this installation is the master: it takes settings writes and applies no other's",
        )
    cur = await conn.execute("SELECT revision FROM settings_revision FOR UPDATE")
    row = await cur.fetchone()
    current = int(row[0]) if row else 0
    for r in revisions:
        if r.revision != current + 1:
            raise RcsError(
                Reason.SETTINGS_OUT_OF_SYNC,
                f"revision {r.revision} does not follow this installation's {current}:"
                f" pull the revisions after {current} from the master",
            )
        for change in r.changes:
            entity = change["entity"]
            if entity not in entities.ENTITIES:
                raise RcsError(
                    Reason.SETTINGS_OUT_OF_SYNC,
                    f"revision {r.revision} changes {entity!r}, which this version of RCS"
                    " does not know: upgrade this installation to the master's version",
                )
            await store.put_state(conn, entity, change["key"], change["after"])
        await conn.execute(
            "INSERT INTO settings_revisions (revision, actor, remote_ip, created_at, summary,"
            " changes) VALUES (%s, %s, %s, %s, %s, %s::jsonb)",
            (r.revision, r.actor, r.remote_ip, r.created_at, r.summary, json.dumps(r.changes)),
        )
        current = r.revision
    if revisions:
        await conn.execute(
            "UPDATE settings_revision SET revision = %s, changed_at = now()", (current,)
        )
        await store.audit(
            conn,
            actor=f"cluster:{master_id}",
            remote_ip="",
            action="settings.sync",
            target=f"revisions {revisions[0].revision}-{current} from installation {master_id}",
            revision=current,
        )
    return current
