"""Versioned settings: each change is a revision (who, when, from where, before/after of
every changed row) plus an audit entry, written in the transaction that makes the change.

Rows are kept as JSON "states" per (entity, key); a revision can be restored by putting
back, for every key changed since, the state it had then (``restore``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg

from rcs_core.settings.credentials import ADMIN, API_KEY
from rcs_core.settings.entities import SPECS
from rcs_core.settings.states import RowState
from rcs_runtime.cluster_role import refused_on_standby
from rcs_runtime.errors import RcsError, Reason

State = RowState | None
CREDENTIALS = frozenset({API_KEY, ADMIN})


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
    action: str = "settings.change",
    empty: bool = False,
    payload: Mapping[str, object] | None = None,
) -> int:
    """Record the changes as the next revision (0 when there are none, unless ``empty``:
    an import is a revision whose rows are the file's, its ``payload``). Taking the row lock on
    settings_revision serialises writers, so revisions are gap-free and ordered."""
    if not changes and not empty:
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
        "INSERT INTO settings_revisions (revision, actor, remote_ip, summary, changes, payload)"
        " VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb)",
        (revision, actor, remote_ip, summary, doc, json.dumps(payload) if payload else None),
    )
    await audit(
        conn,
        actor=actor,
        remote_ip=remote_ip,
        action=action,
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
    details: Mapping[str, object] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (actor, remote_ip, action, target, revision, details)"
        " VALUES (%s, %s, %s, %s, %s, %s::jsonb)",
        (actor, remote_ip, action, target, revision, json.dumps(details or {})),
    )


async def state_of(conn: psycopg.AsyncConnection, entity: str, key: str) -> State:
    """The current state of one row of ``entity`` (None when there is none)."""
    return await SPECS[entity].read_row(conn, key)


async def put_state(conn: psycopg.AsyncConnection, entity: str, key: str, state: State) -> None:
    """Write (or, for None, remove) one row of ``entity``."""
    await SPECS[entity].write_row(conn, key, state)


async def restore(
    conn: psycopg.AsyncConnection,
    revision: int,
    *,
    credentials_too: bool = False,
    kept: frozenset[tuple[str, str]] = frozenset(),
) -> list[Change]:
    """Put back, for every key changed after ``revision``, the state it had at
    ``revision``; returns the changes made (to be committed as a new revision).

    A rollback leaves credentials as they are (API keys, administrators: a revoked key must
    stay revoked); a cluster's rewind of a diverged history (``credentials_too``) does not.
    Rows of ``kept`` keys are not removed even when they did not exist at ``revision``: the
    caller writes them over in place (a rewind, whose master's history has them), so that
    their surrogate ids (partners.id, operators.id), which queued messages and other rows
    refer to, survive."""
    cur = await conn.execute(
        "SELECT changes FROM settings_revisions WHERE revision > %s ORDER BY revision",
        (revision,),
    )
    target: dict[tuple[str, str], State] = {}
    for (changes,) in await cur.fetchall():
        for c in changes:
            if c["entity"] in CREDENTIALS and not credentials_too:
                continue
            target.setdefault((c["entity"], c["key"]), c["before"])  # first change after
    for entity_key in kept & target.keys():
        if target[entity_key] is None:
            del target[entity_key]

    def rank(item: tuple[tuple[str, str], State]) -> int:
        (entity, _), state = item
        r = SPECS[entity].rank
        return r if state is not None else 10 - r  # removals after every put, dependents first

    order = sorted(target.items(), key=rank)
    made: list[Change] = []
    for (entity, key), state in order:
        current = await state_of(conn, entity, key)
        if current != state:
            await put_state(conn, entity, key, state)
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
