"""What the generic settings writes need to know of one entity: its name, its pure
validator (API message → typed state, rcs_core.settings.validate) and the key of a state,
how to read and write one row's state by key (the SQL, in rcs_core.settings.entities), its
dependency rank for restores, and the query that lists its keys for paging."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, cast

import psycopg

from rcs_core.settings.states import RowState

S = TypeVar("S", bound=RowState)
M = TypeVar("M")  # the API message the validator takes
Conn = psycopg.AsyncConnection


@dataclass(frozen=True, slots=True)
class Spec(Generic[S, M]):
    entity: str
    # Restore order: what others refer to comes back first and goes away last. Ranks stay
    # below 5: ``store.restore`` sorts removals by 10 - rank.
    rank: int
    validate: Callable[[M], S]  # pure: RcsError naming the field, or the state to store
    key: Callable[[S], str]
    read: Callable[[Conn, str], Awaitable[S | None]]
    write: Callable[[Conn, str, S | None], Awaitable[None]]  # None removes the row
    # Keys in key order: the page's last key (%s) first, then the spec's own filter
    # parameters, then the LIMIT (%s). "" when the entity is listed another way.
    keys_sql: str = ""
    # Number lists: whether an entry given for a key already listed replaces the listed
    # one (by default it is left as it is).
    replaces: Callable[[S, S], bool] | None = None

    @property
    def label(self) -> str:
        return self.entity.replace("_", " ")

    async def read_row(self, conn: Conn, key: str) -> RowState | None:
        return await self.read(conn, key)

    async def write_row(self, conn: Conn, key: str, state: RowState | None) -> None:
        """Write a state a revision recorded: revisions hold only what this spec's ``read``
        returned (or the older shape its ``write`` fills in), so the JSON is taken as S."""
        await self.write(conn, key, cast("S | None", state))


class EntitySpec(Protocol):
    """A spec seen without its state type: what restore and sync need."""

    @property
    def entity(self) -> str: ...

    @property
    def rank(self) -> int: ...

    async def read_row(self, conn: Conn, key: str) -> RowState | None: ...

    async def write_row(self, conn: Conn, key: str, state: RowState | None) -> None: ...
