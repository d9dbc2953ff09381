"""Every table the DWH captures has the primary key tables.py declares, on the migrated
installation schema (so UPDATE and DELETE keep working in a publication, and the DWH can
key its rows)."""

from __future__ import annotations

import psycopg

from rcs_capture import tables

PK_SQL = """
SELECT c.relname, array_agg(a.attname ORDER BY array_position(i.indkey, a.attnum))
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
WHERE NOT c.relispartition
GROUP BY c.relname
"""


def test_every_captured_table_has_its_declared_primary_key(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        keys = {name: tuple(cols) for name, cols in conn.execute(PK_SQL).fetchall()}
    declared = {t: tables.PRIMARY_KEYS[t] for t in tables.ALL_TABLES}
    assert {t: keys.get(t) for t in tables.ALL_TABLES} == declared
