"""Debezium change events → ``Change`` (pure: no I/O).

Reads the JSON converter's output with or without schemas (``{"schema", "payload"}`` or the
bare envelope), ops c / u / d / r (snapshot read) / t (truncate), and tombstones (a record
with no value after a delete: nothing to do). Anything else is a ``BadEventError`` whose reason
goes to the dead-letter table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any, Final

import orjson

from rcs_capture import tables

# <root>.i<installation>.<schema>.<table>
_TOPIC = re.compile(r"\.i(\d+)\.([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)$")
_OPS: Final = frozenset("cudrt")

# Columns the typed transaction tables need, and the JSON types they must have
# (Debezium's JSON: integers as numbers, timestamptz as ISO-8601 strings).
_INT = (int,)
_STR = (str,)
TYPED_COLUMNS: Final[dict[str, dict[str, tuple[type, ...]]]] = {
    "messages": {
        "id": _INT,
        "created_at": _STR,
        "partner_id": _INT,
        "channel": _INT,
        "destination": _STR,
        "sender": _STR,
        "status": _INT,
        "error_code": _INT,
        "status_at": _STR,
        "part_count": _INT,
        "mailing": _STR,
    },
    "status_events": {
        "event_id": _INT,
        "created_at": _STR,
        "message_id": _INT,
        "partner_id": _INT,
        "status": _INT,
        "error_code": _INT,
    },
}
# Nullable typed columns: present (maybe null), of this type when not null.
OPTIONAL_COLUMNS: Final[dict[str, dict[str, tuple[type, ...]]]] = {
    "messages": {"interface_id": _STR, "traffic_type": _INT},
    "status_events": {},
}
# The same checks as flat (column, exact type, nullable) tuples: ``type(v) is int`` is the
# cheap per-event test (and refuses bool, a subclass of int, as the typed columns must).
_CHECKS: Final[dict[str, tuple[tuple[str, type, bool], ...]]] = {
    table: tuple((c, ts[0], False) for c, ts in TYPED_COLUMNS[table].items())
    + tuple((c, ts[0], True) for c, ts in OPTIONAL_COLUMNS[table].items())
    for table in TYPED_COLUMNS
}


class BadEventError(ValueError):
    """An event that cannot be applied; ``reason`` is one of: malformed_json, bad_topic,
    unknown_table, bad_envelope, schema_changed."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Change:
    installation_id: int
    table: str
    op: str
    key: tuple[Any, ...]  # primary key values in tables.PRIMARY_KEYS order; () for "t"
    row: dict[str, Any] | None  # the row after the change; None for d and t
    lsn: int
    source_ts_ms: int  # commit time on the installation


@lru_cache(maxsize=4096)
def topic_source(topic: str) -> tuple[int, str]:
    """(installation id, table) from a topic name (a few topics carry every event: cached;
    a bad topic raises each time, which lru_cache does not remember)."""
    m = _TOPIC.search(topic)
    if m is None:
        raise BadEventError(
            "bad_topic", f"topic {topic!r} is not <root>.i<installation>.<schema>.<table>"
        )
    if m.group(2) != tables.SCHEMA or m.group(3) not in tables.PRIMARY_KEYS:
        raise BadEventError("unknown_table", f"{m.group(2)}.{m.group(3)} is not a captured table")
    return int(m.group(1)), m.group(3)


def _unwrap(raw: bytes, what: str) -> Any:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as err:  # invalid UTF-8 included
        raise BadEventError("malformed_json", f"{what}: {err}") from None
    if isinstance(obj, dict) and "payload" in obj and "schema" in obj:
        return obj["payload"]
    return obj


def parse(topic: str, key: bytes | None, value: bytes | None) -> Change | None:
    """The change a record carries; None for a tombstone."""
    installation_id, table = topic_source(topic)
    if value is None:
        return None
    env = _unwrap(value, "value")
    if not isinstance(env, dict):
        raise BadEventError("bad_envelope", "the value is not a JSON object")
    op = env.get("op")
    source = env.get("source")
    if op not in _OPS or not isinstance(source, dict):
        raise BadEventError("bad_envelope", f"op {op!r} or source missing")
    lsn, ts_ms = source.get("lsn"), source.get("ts_ms")
    if not isinstance(lsn, int) or not isinstance(ts_ms, int):
        raise BadEventError("bad_envelope", "source.lsn and source.ts_ms must be integers")
    if op == "t":
        return Change(installation_id, table, op, (), None, lsn, ts_ms)
    pk_cols = tables.PRIMARY_KEYS[table]
    if op == "d":
        before = env.get("before")
        keyed = before if isinstance(before, dict) else (_unwrap(key, "key") if key else None)
        if not isinstance(keyed, dict):
            raise BadEventError("bad_envelope", "a delete without before or key")
        return Change(installation_id, table, op, _key(table, keyed, pk_cols), None, lsn, ts_ms)
    after = env.get("after")
    if not isinstance(after, dict):
        raise BadEventError("bad_envelope", f"op {op} without after")
    _check_columns(table, after)
    return Change(installation_id, table, op, _key(table, after, pk_cols), after, lsn, ts_ms)


def _row_getter(cols: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The values of ``cols`` as a tuple in one C call (KeyError when one is missing)."""
    if len(cols) == 1:
        one = itemgetter(cols[0])
        return lambda row: (one(row),)
    return itemgetter(*cols)


_PK_GETTERS: Final = {t: _row_getter(cols) for t, cols in tables.PRIMARY_KEYS.items()}
_TYPED_GETTERS: Final = {t: _row_getter(tuple(c[0] for c in ch)) for t, ch in _CHECKS.items()}
# Per typed table, the combinations of value types already found valid (at most one per
# combination of nulls in the nullable columns): a known one skips the column-by-column check.
_VALID_TYPES: Final[dict[str, set[tuple[type, ...]]]] = {t: set() for t in _CHECKS}


def _key(table: str, row: dict[str, Any], cols: tuple[str, ...]) -> tuple[Any, ...]:
    try:
        key = _PK_GETTERS[table](row)
    except KeyError:
        key = (None,)
    if None in key:
        missing = [c for c in cols if row.get(c) is None]
        raise BadEventError("schema_changed", f"{table}: primary key column(s) {missing} missing")
    return key


def _check_columns(table: str, row: dict[str, Any]) -> None:
    checks = _CHECKS.get(table)
    if checks is None:
        return
    try:
        types: tuple[type, ...] | None = tuple(map(type, _TYPED_GETTERS[table](row)))
    except KeyError:
        types = None
    if types in _VALID_TYPES[table]:
        return
    for col, want, nullable in checks:
        v = row.get(col, _MISSING)
        if type(v) is want or (nullable and v is None):
            continue
        if v is _MISSING:
            raise BadEventError("schema_changed", f"{table}.{col} is missing")
        raise BadEventError(
            "schema_changed", f"{table}.{col} is {type(v).__name__}, expected {want.__name__}"
        )
    if types is not None:
        _VALID_TYPES[table].add(types)


_MISSING: Final = object()
