"""Settings revisions as a changes feed: read those after a revision (with full, unredacted
row states) and apply a master's revisions on a standby, as they were, in one transaction;
each revision's history checksum (migration 0105) tells whether two histories diverged."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import psycopg

from rcs_core.settings import entities, number_plan, store
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
    payload: dict[str, object] | None = None  # an import's rows
    checksum: str = ""  # the history checksum where it was read ("" when not known)


_COLUMNS = "revision, actor, remote_ip, created_at, summary, changes, payload, checksum"


async def current_revision(conn: psycopg.AsyncConnection) -> int:
    cur = await conn.execute("SELECT revision FROM settings_revision")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def revisions_since(
    conn: psycopg.AsyncConnection, since: int, limit: int
) -> tuple[list[Revision], int]:
    """Up to ``limit`` revisions after ``since``, oldest first, and the current revision.
    A page ends with its first import (whose rows can be megabytes)."""
    cur = await conn.execute(
        "SELECT revision, payload IS NOT NULL FROM settings_revisions"
        " WHERE revision > %s ORDER BY revision LIMIT %s",
        (since, limit),
    )
    heads = await cur.fetchall()
    last = next((r for r, imported in heads if imported), heads[-1][0] if heads else since)
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM settings_revisions"  # noqa: S608 (constant)
        " WHERE revision > %s AND revision <= %s ORDER BY revision",
        (since, last),
    )
    rows = await cur.fetchall()
    return [Revision(*row) for row in rows], await current_revision(conn)


async def checksums_up_to(
    conn: psycopg.AsyncConnection, revision: int, limit: int
) -> tuple[list[tuple[int, str]], int]:
    """Up to ``limit`` (revision, checksum) up to ``revision``, newest first, and the current
    revision."""
    cur = await conn.execute(
        "SELECT revision, checksum FROM settings_revisions WHERE revision <= %s"
        " ORDER BY revision DESC LIMIT %s",
        (revision, limit),
    )
    rows = [(int(r), str(c)) for r, c in await cur.fetchall()]
    return rows, await current_revision(conn)


async def apply_revisions(
    conn: psycopg.AsyncConnection, revisions: list[Revision], *, master_id: int
) -> int:
    """Apply a master's revisions, which must follow this installation's current one without
    a gap, within the caller's transaction; returns the revision reached.

    ``rcs.settings_sync`` lets the revision bump past migration 0045's standby check: this is
    the one write a standby takes. An import's rows (its payload) are imported here alike;
    a revision whose history checksum comes out other than the master's is refused."""
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
        if r.payload is not None:
            await _replay(conn, r)
        cur = await conn.execute(
            "INSERT INTO settings_revisions (revision, actor, remote_ip, created_at, summary,"
            " changes, payload) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb)"
            " RETURNING checksum",
            (
                r.revision,
                r.actor,
                r.remote_ip,
                r.created_at,
                r.summary,
                json.dumps(r.changes),
                json.dumps(r.payload) if r.payload is not None else None,
            ),
        )
        mine = await cur.fetchone()
        if r.checksum and mine is not None and mine[0] != r.checksum:
            raise RcsError(
                Reason.SETTINGS_OUT_OF_SYNC,
                f"revision {r.revision}'s history checksum differs from the master's: this"
                " installation's settings history diverged from the master's (its cluster"
                " agent rewinds it to the last shared revision)",
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


async def _replay(conn: psycopg.AsyncConnection, r: Revision) -> None:
    assert r.payload is not None
    await _replay_payload(conn, r.payload, f"revision {r.revision}'s import")


async def _replay_payload(
    conn: psycopg.AsyncConnection, payload: dict[str, object], what: str = "an import"
) -> None:
    try:
        await number_plan.replay(conn, payload)
    except (ValueError, TypeError) as exc:
        raise RcsError(
            Reason.SETTINGS_OUT_OF_SYNC,
            f"{what} does not apply here ({str(exc)[:300]}): this installation's settings"
            " differ from the master's",
        ) from exc


async def rewind(
    conn: psycopg.AsyncConnection, fork: int, revisions: list[Revision], *, master_id: int
) -> tuple[int, int]:
    """Undo this standby's revisions after ``fork`` (the last one it shares with the master)
    by their before-images, credentials and imports too, drop them from its history, then
    apply the master's ``revisions`` after ``fork``: all in the caller's transaction, so the
    installation is never left with a mix of both histories. Returns (undone, reached)."""
    await conn.execute("SELECT set_config('rcs.settings_sync', 'on', true)")
    await conn.execute("SELECT 1 FROM settings_revision FOR UPDATE")
    cur = await conn.execute(
        "SELECT payload FROM settings_revisions WHERE revision > %s ORDER BY revision", (fork,)
    )
    undone_rows = await cur.fetchall()
    imports = [p for (p,) in undone_rows if p is not None]
    for kind in dict.fromkeys(str(p.get("kind")) for p in imports):
        # The import the undone ones replaced: the last one up to the fork, if any.
        cur = await conn.execute(
            "SELECT payload FROM settings_revisions WHERE revision <= %s"
            " AND payload->>'kind' = %s ORDER BY revision DESC LIMIT 1",
            (fork, kind),
        )
        kept = await cur.fetchone()
        await _replay_payload(conn, kept[0] if kept else {"kind": kind, "rows": []})
    # A key the master's history leaves present is written over in place by its revisions,
    # not removed first and inserted again: a new partners.id / operators.id would strand
    # every queued message and every row that refers to the old one (the dispatcher claims
    # a message joined with its partner). Two installations seeded alike diverge on every
    # row they both made (salted password hashes, times), so this is the common case.
    await store.restore(conn, fork, credentials_too=True, kept=_present_after(revisions))
    for name in {n for p in imports for n in p.get("created_operators", [])}:
        try:  # an operator an undone import made, unless something refers to it now
            async with conn.transaction():
                await conn.execute("DELETE FROM operators WHERE name = %s", (name,))
        except psycopg.errors.ForeignKeyViolation:
            pass
    undone = len(undone_rows)
    await conn.execute("DELETE FROM settings_revisions WHERE revision > %s", (fork,))
    await conn.execute("UPDATE settings_revision SET revision = %s, changed_at = now()", (fork,))
    await store.audit(
        conn,
        actor=f"cluster:{master_id}",
        remote_ip="",
        action="settings.rewind",
        target=f"undid {undone} revision(s) after {fork}, not in installation {master_id}'s"
        " history",
        revision=fork,
    )
    return undone, await apply_revisions(conn, revisions, master_id=master_id)


def _present_after(revisions: list[Revision]) -> frozenset[tuple[str, str]]:
    """The (entity, key) pairs these revisions, applied in order, leave with a row."""
    last: dict[tuple[str, str], object] = {}
    for r in revisions:
        for change in r.changes:
            last[(change["entity"], change["key"])] = change["after"]
    return frozenset(k for k, after in last.items() if after is not None)
