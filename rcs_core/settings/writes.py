"""The shapes every settings RPC shares, generic over an entity's spec: one transaction with
request_id replay, put / delete of one row as a revision, add / remove of number-list
entries, and key-ordered paging. Every write ends in ``store.commit_revision``, the one
place a standby refuses settings writes."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

import grpc
from google.protobuf.message import Message
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.db import request_log
from rcs_core.settings import entities, store
from rcs_core.settings.spec import Conn, M, S, Spec
from rcs_core.settings.store import Change
from rcs_runtime.errors import RcsError, Reason

Ctx = grpc.aio.ServicerContext[object, object]
R = TypeVar("R", bound=Message)
Check = Callable[[Conn, S | None], Awaitable[None]]  # before: the stored state, if any


class Mutation(Protocol):
    """What every settings write request carries."""

    @property
    def request_id(self) -> str: ...

    @property
    def actor(self) -> ss.Actor: ...


async def commit(conn: Conn, actor: ss.Actor, *, summary: str, changes: list[Change]) -> int:
    """The changes as the next revision, attributed to the request's actor."""
    return await store.commit_revision(
        conn, actor=actor.login, remote_ip=actor.remote_ip, summary=summary, changes=changes
    )


async def mutate(
    pool: AsyncConnectionPool,
    request: Mutation,
    response_type: type[R],
    work: Callable[[Conn], Awaitable[R]],
) -> R:
    """One transaction: replay a known request_id, else do the work and remember it."""
    method = response_type.DESCRIPTOR.name
    return await request_log.once(pool, request.request_id, method, response_type, work)


async def put(
    pool: AsyncConnectionPool,
    request: Mutation,
    response_type: type[R],
    spec: Spec[S, M],
    state: S,
    respond: Callable[[S, int], R],
    check: Check[S] | None = None,
    merge: Callable[[S, S | None], S] | None = None,
) -> R:
    """Create or replace one row (``state``, as ``spec.validate`` made it); no revision (0)
    when it is stored like that already. ``check(conn, before)`` refuses what only the
    database can tell; ``merge(state, before)`` makes the row to store from the stored one
    (e.g. to keep a write-only field)."""
    key = spec.key(state)

    async def work(conn: Conn) -> R:
        await store.lock_settings(conn)
        before = await spec.read(conn, key)
        if check is not None:
            await check(conn, before)
        after = merge(state, before) if merge is not None else state
        revision = 0
        if before != after:
            await spec.write(conn, key, after)
            revision = await commit(
                conn,
                request.actor,
                summary=f"put {spec.label} {key}",
                changes=[Change(spec.entity, key, before, after)],
            )
        return respond(after, revision)

    return await mutate(pool, request, response_type, work)


async def delete(
    pool: AsyncConnectionPool,
    request: Mutation,
    response_type: type[R],
    spec: Spec[S, M],
    key: str,
    check: Check[S] | None = None,
) -> R:
    """Remove one row as a revision; NOT_FOUND when there is none."""

    async def work(conn: Conn) -> R:
        await store.lock_settings(conn)
        before = await spec.read(conn, key)
        if before is None:
            raise RcsError(Reason.NOT_FOUND, f"no {spec.label} {key!r}")
        if check is not None:
            await check(conn, before)
        await spec.write(conn, key, None)
        revision = await commit(
            conn,
            request.actor,
            summary=f"delete {spec.label} {key}",
            changes=[Change(spec.entity, key, before, None)],
        )
        return response_type(revision=revision)  # every Delete*Response has it

    return await mutate(pool, request, response_type, work)


async def change_entries(
    pool: AsyncConnectionPool,
    request: Mutation,
    response_type: type[R],
    spec: Spec[S, M],
    entries: Sequence[M],
    partner: Callable[[S], str],
    *,
    add: bool,
) -> R:
    """Add (or remove) the entries of a number list (black or white list), each validated
    by the spec and refused when ``partner`` of it names no partner ("" is the
    installation's own list); rows already so are skipped, and what changed is one
    revision. The response has ``added_count`` (or ``removed_count``) and ``revision``."""
    rows = [(partner(s), spec.key(s), s) for s in map(spec.validate, entries)]
    label = "black list" if spec.entity == "blacklist" else "white list"

    async def work(conn: Conn) -> R:
        changes: list[Change] = []
        for partner, key, state in rows:
            if partner and await entities.partner_state(conn, partner) is None:
                raise RcsError(Reason.NOT_FOUND, f"no partner {partner!r}")
            before = await spec.read(conn, key)
            after = state if add else None
            replaced = (
                before is not None
                and after is not None
                and spec.replaces is not None
                and spec.replaces(before, after)
            )
            if (before is None) == (after is None) and not replaced:
                continue  # already listed / not listed: nothing to change
            await spec.write(conn, key, after)
            changes.append(Change(spec.entity, key, before, after))
        revision = await commit(
            conn,
            request.actor,
            summary=f"{'add' if add else 'remove'} {len(changes)} {label} entries",
            changes=changes,
        )
        count = "added_count" if add else "removed_count"
        return response_type(**{count: len(changes)}, revision=revision)

    return await mutate(pool, request, response_type, work)


def page(token: str, size: int) -> tuple[str, int]:
    """The key a page starts after and its size (100 by default), from a request's paging."""
    size = size or 100
    if not 1 <= size <= 1000:
        raise RcsError(Reason.INVALID_REQUEST, "page_size must be 1 to 1000")
    try:
        after = base64.urlsafe_b64decode(token.encode()).decode() if token else ""
    except ValueError as exc:
        raise RcsError(Reason.INVALID_REQUEST, "page_token is not one we issued") from exc
    return after, size


def token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


async def list_page(
    pool: AsyncConnectionPool,
    spec: Spec[S, M],
    page_token: str,
    page_size: int,
    args: tuple[str, ...] = (),
) -> tuple[list[S], str]:
    """States of one page of keys by ``spec.keys_sql`` (with ``args`` as its own filter
    parameters), and the next page's token ("" on the last page)."""
    after, size = page(page_token, page_size)
    async with pool.connection() as conn:
        cur = await conn.execute(spec.keys_sql, (after, *args, size + 1))
        keys = [str(row[0]) for row in await cur.fetchall()]
        states = [await spec.read(conn, k) for k in keys[:size]]
    return [s for s in states if s], token(keys[size - 1]) if len(keys) > size else ""


async def list_all(pool: AsyncConnectionPool, spec: Spec[S, M], keys_sql: str) -> list[S]:
    """States of every key ``keys_sql`` selects, in its order (small entities, no paging)."""
    async with pool.connection() as conn:
        cur = await conn.execute(keys_sql)
        keys = [str(row[0]) for row in await cur.fetchall()]
        states = [await spec.read(conn, k) for k in keys]
    return [s for s in states if s]
