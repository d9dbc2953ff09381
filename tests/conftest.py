"""Fixtures shared by all tests: a real PostgreSQL database per test (cloned from a
migrated template), free ports, and in-process gRPC servers on port 0."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from rcs_core.db.migrate import migrate
from tests.ports import free_port as free_port
from tests.ports import two_free_ports as two_free_ports

TEMPLATE = f"rcs_template_{os.getpid()}"


def _admin_dsn() -> str:
    dsn = os.environ.get("RCS_TEST_DSN")
    if not dsn:
        pytest.fail(
            "RCS_TEST_DSN is not set: run the tests through `make test`, which starts "
            "PostgreSQL (scripts/test-services.sh up) and exports it"
        )
    return dsn


def _dsn_for(admin: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(admin, dbname=dbname)


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    admin = _admin_dsn()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    asyncio.run(migrate(_dsn_for(admin, TEMPLATE), installation_id=7))
    yield TEMPLATE
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')


@contextlib.contextmanager
def cloned_database(template_db: str) -> Iterator[str]:
    """A fresh, migrated database (installation id 7), dropped afterwards."""
    admin = _admin_dsn()
    name = f"rcs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    try:
        yield _dsn_for(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(template_db: str) -> Iterator[str]:
    """A fresh, migrated database for one test (installation id 7)."""
    with cloned_database(template_db) as dsn:
        yield dsn


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[object]:
    from rcs_runtime.db import open_pool

    p = await open_pool(database_url, min_size=1, max_size=8)
    yield p
    await p.close()
