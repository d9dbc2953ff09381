from __future__ import annotations

import json

import pytest

from rcs_dwh.envelope import BadEventError, parse
from tests.dwh_support import envelope, message_row

TOPIC = "rcs.i5.public.messages"


def test_an_insert_without_schema_becomes_a_change_keyed_by_the_primary_key() -> None:
    ch = parse(TOPIC, None, envelope("messages", "c", message_row(9), lsn=77, ts_ms=1000))
    assert ch is not None
    assert (ch.installation_id, ch.table, ch.op, ch.key, ch.lsn, ch.source_ts_ms) == (
        5,
        "messages",
        "c",
        (9, "2026-12-01T10:00:00Z"),
        77,
        1000,
    )


def test_the_same_event_with_schema_reads_the_same() -> None:
    bare = parse(TOPIC, None, envelope("messages", "u", message_row(9), lsn=7))
    wrapped = parse(TOPIC, None, envelope("messages", "u", message_row(9), lsn=7, with_schema=True))
    assert bare is not None
    assert wrapped is not None
    assert (bare.key, bare.row, bare.lsn) == (wrapped.key, wrapped.row, wrapped.lsn)


def test_a_tombstone_is_nothing_to_do() -> None:
    assert parse(TOPIC, b'{"id": 1}', None) is None


def test_a_delete_takes_its_key_from_before_or_from_the_record_key() -> None:
    key = {"id": 3, "created_at": "2026-12-01T10:00:00Z"}
    from_before = parse(TOPIC, None, envelope("messages", "d", None, before=key, lsn=5))
    from_key = parse(TOPIC, json.dumps(key).encode(), envelope("messages", "d", None, lsn=5))
    assert from_before is not None
    assert from_key is not None
    assert from_before.key == from_key.key == (3, "2026-12-01T10:00:00Z")
    assert from_before.row is None


def test_a_truncate_has_no_key() -> None:
    ch = parse(TOPIC, None, envelope("messages", "t", None, lsn=5))
    assert ch is not None
    assert (ch.op, ch.key) == ("t", ())


@pytest.mark.parametrize(
    ("topic", "value", "reason"),
    [
        (TOPIC, b"{oops", "malformed_json"),
        ("rcs.i5.public.nope", envelope("nope", "c", {"id": 1}, lsn=1), "unknown_table"),
        ("rcs.public.messages", envelope("messages", "c", message_row(1), lsn=1), "bad_topic"),
        (TOPIC, json.dumps({"op": "x"}).encode(), "bad_envelope"),
        (
            TOPIC,
            envelope("messages", "c", {**message_row(1), "status": "DELIVERED"}, lsn=1),
            "schema_changed",
        ),
        (
            TOPIC,
            envelope(
                "messages",
                "c",
                {k: v for k, v in message_row(1).items() if k != "traffic_type"},
                lsn=1,
            ),
            "schema_changed",
        ),
    ],
)
def test_bad_events_say_why(topic: str, value: bytes, reason: str) -> None:
    with pytest.raises(BadEventError) as bad:
        parse(topic, None, value)
    assert bad.value.reason == reason
