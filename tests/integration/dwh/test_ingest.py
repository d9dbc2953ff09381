"""rcs_dwh as a real process on the real Kafka, fed Debezium-shaped events by a producer:
the LSN guard, dead letters, schemas and tombstones, kill -9 mid-stream."""

from __future__ import annotations

import json

import pytest
from kafka import KafkaProducer

from tests.dwh_support import DwhProcess, envelope, message_row, wait_for
from tests.integration.dwh.conftest import query

KEY = b'{"id": %d, "created_at": "2026-12-01T10:00:00Z"}'


def _send(p: KafkaProducer, topic: str, key: bytes | None, value: bytes | None) -> None:
    p.send(topic, key=key, value=value)


def test_replayed_and_older_events_never_overwrite_a_newer_row(
    dwh: DwhProcess, dwh_db: str, root: str, producer: KafkaProducer
) -> None:
    topic = f"{root}.i1.public.messages"
    _send(producer, topic, KEY % 1, envelope("messages", "c", message_row(1), lsn=10))
    _send(producer, topic, KEY % 1, envelope("messages", "u", message_row(1, status=3), lsn=30))
    _send(producer, topic, KEY % 1, envelope("messages", "u", message_row(1, status=4), lsn=20))
    _send(producer, topic, KEY % 1, envelope("messages", "c", message_row(1), lsn=10))
    _send(producer, topic, KEY % 2, envelope("messages", "c", message_row(2), lsn=40))
    producer.flush()
    wait_for(
        lambda: query(dwh_db, "SELECT count(*) FROM dwh_messages")[0][0] == 2,
        30,
        "both messages in the DWH",
    )
    rows = query(dwh_db, "SELECT id, status, lsn, cluster FROM dwh_messages ORDER BY id")
    assert rows == [(1, 3, 30, "east"), (2, 1, 40, "east")]


def test_bad_events_are_parked_with_their_reason_and_ingestion_goes_on(
    dwh: DwhProcess, dwh_db: str, root: str, producer: KafkaProducer
) -> None:
    good = f"{root}.i3.public.messages"
    _send(producer, good, KEY % 1, b"{not json")
    _send(producer, f"{root}.i3.public.nope", b"{}", envelope("nope", "c", {"id": 1}, lsn=1))
    no_status = {k: v for k, v in message_row(2).items() if k != "status"}
    _send(producer, good, KEY % 2, envelope("messages", "c", no_status, lsn=2))
    text_status = {**message_row(3), "status": "DELIVERED"}
    _send(producer, good, KEY % 3, envelope("messages", "c", text_status, lsn=3))
    _send(
        producer,
        f"{root}.i99.public.messages",
        KEY % 4,
        envelope("messages", "c", message_row(4), lsn=4),
    )
    _send(producer, good, KEY % 5, envelope("messages", "c", message_row(5), lsn=5))
    producer.flush()
    wait_for(
        lambda: (
            query(dwh_db, "SELECT count(*) FROM dwh_messages")[0][0] == 1
            and query(dwh_db, "SELECT count(*) FROM dwh_dead_letters")[0][0] == 5
        ),
        30,
        "the good event applied and five parked",
    )
    reasons = query(dwh_db, "SELECT topic, reason FROM dwh_dead_letters ORDER BY reason, topic")
    assert reasons == [
        (f"{root}.i3.public.messages", "malformed_json"),
        (f"{root}.i3.public.messages", "schema_changed"),
        (f"{root}.i3.public.messages", "schema_changed"),
        (f"{root}.i99.public.messages", "unknown_installation"),
        (f"{root}.i3.public.nope", "unknown_table"),
    ]
    assert query(dwh_db, "SELECT id, cluster FROM dwh_messages") == [(5, "west")]
    assert dwh.alive()


def test_envelopes_with_schemas_deletes_and_tombstones(
    dwh: DwhProcess, dwh_db: str, root: str, producer: KafkaProducer
) -> None:
    topic = f"{root}.i2.public.messages"
    _send(
        producer, topic, KEY % 7, envelope("messages", "c", message_row(7), lsn=7, with_schema=True)
    )
    _send(producer, topic, KEY % 8, envelope("messages", "c", message_row(8), lsn=8))
    producer.flush()
    wait_for(
        lambda: query(dwh_db, "SELECT count(*) FROM dwh_messages")[0][0] == 2,
        30,
        "both messages in the DWH",
    )
    key_only = {"id": 8, "created_at": "2026-12-01T10:00:00Z"}
    _send(producer, topic, KEY % 8, envelope("messages", "d", None, before=key_only, lsn=9))
    _send(producer, topic, KEY % 8, None)  # the tombstone after a delete
    partners = f"{root}.i2.public.partners"
    _send(
        producer,
        partners,
        b'{"id": 1}',
        envelope("partners", "r", {"id": 1, "login": "acme"}, lsn=5),
    )
    _send(
        producer,
        partners,
        b'{"id": 1}',
        envelope("partners", "u", {"id": 1, "login": "acme2"}, lsn=11),
    )
    producer.flush()
    wait_for(
        lambda: (
            query(dwh_db, "SELECT count(*) FROM dwh_settings_history")[0][0] == 2
            and query(dwh_db, "SELECT count(*) FROM dwh_messages WHERE deleted")[0][0] == 1
        ),
        30,
        "the settings history and the delete",
    )
    assert query(dwh_db, "SELECT id, deleted FROM dwh_messages ORDER BY id") == [
        (7, False),
        (8, True),
    ]
    current = query(dwh_db, "SELECT cluster, table_name, pk, data FROM dwh_settings_current")
    assert current == [("east", "partners", "[1]", {"id": 1, "login": "acme2"})]
    assert query(dwh_db, "SELECT count(*) FROM dwh_dead_letters")[0][0] == 0


@pytest.mark.timeout(600)
def test_kill_9_mid_stream_then_restart_leaves_no_duplicates_and_no_gaps(
    dwh: DwhProcess, dwh_db: str, root: str, producer: KafkaProducer
) -> None:
    n = 20000
    # Everything produced first, then small batches: the kill lands between commits.
    dwh.stop()
    dwh.extra_env["RCS_DWH_BATCH_MAX"] = "500"
    topic = f"{root}.i1.public.messages"
    for i in range(1, n + 1):
        _send(producer, topic, KEY % i, envelope("messages", "c", message_row(i), lsn=i))
    for i in range(1, n + 1):
        row = message_row(i, status=3)
        _send(producer, topic, KEY % i, envelope("messages", "u", row, lsn=n + i))
    producer.flush()
    dwh.start()
    wait_for(
        lambda: int(str(query(dwh_db, "SELECT count(*) FROM dwh_messages")[0][0])) > 2000,
        60,
        "ingestion under way",
        interval=0.05,
    )
    dwh.kill()
    applied_at_kill = int(
        str(query(dwh_db, "SELECT coalesce(sum(next_offset), 0) FROM dwh_offsets")[0][0])
    )
    assert applied_at_kill < 2 * n, "the kill came too late to be mid-stream"
    dwh.start()
    wait_for(
        lambda: query(dwh_db, "SELECT sum(next_offset) FROM dwh_offsets")[0][0] == 2 * n,
        300,
        "every event applied after the restart",
    )
    rows = query(
        dwh_db,
        "SELECT count(*), count(DISTINCT id), min(id), max(id), min(status), max(lsn)"
        " FROM dwh_messages",
    )
    assert rows == [(n, n, 1, n, 3, 2 * n)]
    assert query(dwh_db, "SELECT count(*) FROM dwh_dead_letters")[0][0] == 0
    metrics = json.dumps(dwh.log()[-200:])
    assert dwh.alive(), metrics
