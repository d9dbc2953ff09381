"""The database's refusal of a settings write on a standby (migration 0045's trigger on
``settings_revision``) as the catalogued NOT_MASTER error, for every settings writer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg

from rcs_runtime.errors import RcsError, Reason

NOT_MASTER_SQLSTATE = "RC001"


@asynccontextmanager
async def refused_on_standby() -> AsyncIterator[None]:
    """Turn the trigger's refusal raised inside the block into RcsError("NOT_MASTER")."""
    try:
        yield
    except psycopg.Error as exc:
        if exc.sqlstate != NOT_MASTER_SQLSTATE:
            raise
        raise RcsError(Reason.NOT_MASTER, exc.diag.message_primary or "") from exc
