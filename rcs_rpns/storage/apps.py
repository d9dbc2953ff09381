"""rpns_apps: partners' applications and their push credentials."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from rcs_rpns.providers.credentials import Credentials

_COLUMNS = "id, partner, service_number, api_key, min_version, credentials"


@dataclass(frozen=True, slots=True)
class App:
    id: int
    partner: str
    service_number: str
    api_key: str
    min_version: str
    credentials: Credentials


def _app(row: tuple[object, ...]) -> App:
    return App(
        id=int(str(row[0])),
        partner=str(row[1]),
        service_number=str(row[2]),
        api_key=str(row[3]),
        min_version=str(row[4]),
        credentials=Credentials.model_validate(row[5]),
    )


async def put(
    conn: psycopg.AsyncConnection,
    *,
    partner: str,
    service_number: str,
    min_version: str,
    credentials: Credentials,
) -> App:
    """Create the application of (partner, serviceNumber), or replace its settings; an
    existing one keeps its id and api key."""
    cur = await conn.execute(
        "INSERT INTO rpns_apps (partner, service_number, api_key, min_version, credentials)"  # noqa: S608 (constant columns)
        " VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (partner, service_number) DO UPDATE"
        " SET min_version = EXCLUDED.min_version, credentials = EXCLUDED.credentials"
        f" RETURNING {_COLUMNS}",
        (
            partner,
            service_number,
            secrets.token_urlsafe(24),
            min_version,
            Jsonb(credentials.model_dump(exclude_none=True)),
        ),
    )
    row = await cur.fetchone()
    assert row is not None
    return _app(row)


async def get(conn: psycopg.AsyncConnection, app_id: int) -> App | None:
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM rpns_apps WHERE id = %s", (app_id,))  # noqa: S608 (constant columns)
    row = await cur.fetchone()
    return _app(row) if row else None


async def find(conn: psycopg.AsyncConnection, partner: str, service_number: str) -> App | None:
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM rpns_apps WHERE partner = %s AND service_number = %s",  # noqa: S608 (constant columns)
        (partner, service_number),
    )
    row = await cur.fetchone()
    return _app(row) if row else None


async def by_api_key(conn: psycopg.AsyncConnection, api_key: str) -> App | None:
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM rpns_apps WHERE api_key = %s", (api_key,))  # noqa: S608 (constant columns)
    row = await cur.fetchone()
    return _app(row) if row else None


async def list_apps(conn: psycopg.AsyncConnection, partner: str) -> list[App]:
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM rpns_apps WHERE %s = '' OR partner = %s ORDER BY id",  # noqa: S608 (constant columns)
        (partner, partner),
    )
    return [_app(r) for r in await cur.fetchall()]
