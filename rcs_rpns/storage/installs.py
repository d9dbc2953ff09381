"""rpns_installs: the installation database (F31)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import cast

import psycopg
from psycopg import errors

from rcs_rpns.model import Candidate, InstallFields, InvalidInstallError, Platform

_COLUMNS = (
    "id, app_id, platform, token, phone, external_user_id, subscriptions, push_enabled,"
    " os_push_enabled, app_version, is_primary, active, disabled_reason, last_seen_at,"
    " created_at"
)


@dataclass(frozen=True, slots=True)
class Install:
    id: str
    app_id: int
    fields: InstallFields
    active: bool
    disabled_reason: str
    last_seen_at: dt.datetime
    created_at: dt.datetime


def _install(r: tuple[object, ...]) -> Install:
    fields = InstallFields(
        platform=Platform(int(str(r[2]))),
        token=str(r[3]),
        phone=None if r[4] is None else str(r[4]),
        external_user_id=None if r[5] is None else str(r[5]),
        subscriptions=tuple(cast(list[str], r[6])),
        push_enabled=bool(r[7]),
        os_push_enabled=bool(r[8]),
        app_version=str(r[9]),
        primary=bool(r[10]),
    )
    return Install(
        id=str(r[0]),
        app_id=int(str(r[1])),
        fields=fields,
        active=bool(r[11]),
        disabled_reason=str(r[12]),
        last_seen_at=r[13],  # type: ignore[arg-type]
        created_at=r[14],  # type: ignore[arg-type]
    )


def _values(f: InstallFields) -> tuple[object, ...]:
    return (
        int(f.platform),
        f.token,
        f.phone,
        f.external_user_id,
        list(f.subscriptions),
        f.push_enabled,
        f.os_push_enabled,
        f.app_version,
        f.primary,
    )


async def _only_primary(conn: psycopg.AsyncConnection, install: Install) -> None:
    """One primary install per user: the one just marked takes it from the others."""
    f = install.fields
    if not f.primary:
        return
    await conn.execute(
        "UPDATE rpns_installs SET is_primary = false WHERE app_id = %s AND id <> %s"
        " AND is_primary AND ((%s::text IS NOT NULL AND phone = %s)"
        " OR (%s::text IS NOT NULL AND external_user_id = %s))",
        (install.app_id, install.id, f.phone, f.phone, f.external_user_id, f.external_user_id),
    )


async def register(conn: psycopg.AsyncConnection, app_id: int, f: InstallFields) -> Install:
    """A new install, or the app's install with this token refreshed (and active again)."""
    cur = await conn.execute(
        "INSERT INTO rpns_installs (id, app_id, platform, token, phone, external_user_id,"  # noqa: S608 (constant columns)
        " subscriptions, push_enabled, os_push_enabled, app_version, is_primary)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (app_id, token) DO UPDATE SET platform = EXCLUDED.platform,"
        " phone = EXCLUDED.phone, external_user_id = EXCLUDED.external_user_id,"
        " subscriptions = EXCLUDED.subscriptions, push_enabled = EXCLUDED.push_enabled,"
        " os_push_enabled = EXCLUDED.os_push_enabled, app_version = EXCLUDED.app_version,"
        " is_primary = EXCLUDED.is_primary, active = true, disabled_reason = '',"
        " last_seen_at = now()"
        f" RETURNING {_COLUMNS}",
        (str(uuid.uuid4()), app_id, *_values(f)),
    )
    row = await cur.fetchone()
    assert row is not None
    install = _install(row)
    await _only_primary(conn, install)
    return install


async def update(
    conn: psycopg.AsyncConnection, app_id: int | None, install_id: str, f: InstallFields
) -> Install | None:
    """Replace an install's fields (a refreshed token included); None when not found."""
    try:
        async with conn.transaction():
            cur = await conn.execute(
                "UPDATE rpns_installs SET platform = %s, token = %s, phone = %s,"  # noqa: S608 (constant columns)
                " external_user_id = %s, subscriptions = %s, push_enabled = %s,"
                " os_push_enabled = %s, app_version = %s, is_primary = %s, active = true,"
                " disabled_reason = '', last_seen_at = now()"
                " WHERE id = %s AND (%s::bigint IS NULL OR app_id = %s)"
                f" RETURNING {_COLUMNS}",
                (*_values(f), install_id, app_id, app_id),
            )
    except errors.UniqueViolation:
        raise InvalidInstallError("token", "another install of the app has this token") from None
    row = await cur.fetchone()
    if row is None:
        return None
    install = _install(row)
    await _only_primary(conn, install)
    return install


async def unregister(
    conn: psycopg.AsyncConnection, app_id: int | None, install_id: str
) -> Install | None:
    cur = await conn.execute(
        "UPDATE rpns_installs SET active = false, is_primary = false,"  # noqa: S608 (constant columns)
        " disabled_reason = 'unregistered', last_seen_at = now()"
        f" WHERE id = %s AND (%s::bigint IS NULL OR app_id = %s) RETURNING {_COLUMNS}",
        (install_id, app_id, app_id),
    )
    row = await cur.fetchone()
    return _install(row) if row else None


async def get(conn: psycopg.AsyncConnection, install_id: str) -> Install | None:
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM rpns_installs WHERE id = %s", (install_id,))  # noqa: S608 (constant columns)
    row = await cur.fetchone()
    return _install(row) if row else None


async def page(
    conn: psycopg.AsyncConnection,
    app_id: int,
    *,
    phone: str,
    external_user_id: str,
    after: tuple[dt.datetime, str] | None,
    limit: int,
) -> list[Install]:
    """Oldest first, from after (created_at, id) of the previous page's last."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM rpns_installs WHERE app_id = %s"  # noqa: S608 (constant columns)
        " AND (%s = '' OR phone = %s) AND (%s = '' OR external_user_id = %s)"
        " AND (%s::timestamptz IS NULL OR (created_at, id) > (%s, %s::uuid))"
        " ORDER BY created_at, id LIMIT %s",
        (
            app_id,
            phone,
            phone,
            external_user_id,
            external_user_id,
            after[0] if after else None,
            after[0] if after else None,
            after[1] if after else None,
            limit,
        ),
    )
    return [_install(r) for r in await cur.fetchall()]


async def candidates_of(
    conn: psycopg.AsyncConnection, wanted: list[tuple[int, str, str]]
) -> list[list[Candidate]]:
    """The installs of each (app, number, user id) at once, in order: by the partner's user
    id when given, else by number (one round trip for a whole SendMessages batch)."""
    found: list[list[Candidate]] = [[] for _ in wanted]
    if not wanted:
        return found
    cur = await conn.execute(
        "WITH k AS (SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[])"
        "  WITH ORDINALITY AS t(app, phone, usr, n))"
        " SELECT k.n, i.id, i.platform, i.active, i.is_primary, i.push_enabled,"
        "  i.os_push_enabled, i.subscriptions, i.app_version"
        " FROM k JOIN rpns_installs i ON i.app_id = k.app AND i.external_user_id = k.usr"
        " WHERE k.usr <> ''"
        " UNION ALL"
        " SELECT k.n, i.id, i.platform, i.active, i.is_primary, i.push_enabled,"
        "  i.os_push_enabled, i.subscriptions, i.app_version"
        " FROM k JOIN rpns_installs i ON i.app_id = k.app AND i.phone = k.phone"
        " WHERE k.usr = ''",
        ([a for a, _, _ in wanted], [p for _, p, _ in wanted], [u for _, _, u in wanted]),
    )
    for r in await cur.fetchall():
        found[int(r[0]) - 1].append(
            Candidate(
                install_id=str(r[1]),
                platform=Platform(r[2]),
                active=r[3],
                primary=r[4],
                push_enabled=r[5],
                os_push_enabled=r[6],
                subscriptions=tuple(r[7]),
                app_version=r[8],
            )
        )
    return found
