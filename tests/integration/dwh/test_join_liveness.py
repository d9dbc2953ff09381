"""rcs_dwh's consumer group comes up while its topics are being created, round after round
(issue 20: kafka-python 3.0.12 sat for minutes after "Elected group leader"; a rebalance
whose JoinGroup/SyncGroup outlasted one poll was never completed, see rcs_dwh.group_guard).
Each round ingestion starts, and takes in topics created after the first assignment, within
a deadline far above a healthy start (seconds) and far below the stall (minutes). Polls of
5 ms make every rebalance outlast a poll: without the guard every round stalls."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kafka import KafkaProducer

from tests.dwh_support import (
    DwhProcess,
    envelope,
    kafka_bootstrap,
    message_row,
    unique_root,
    wait_for,
)
from tests.integration.dwh.conftest import query

ROUNDS = int(os.environ.get("RCS_TEST_DWH_JOIN_ROUNDS", "3"))
DEADLINE = 60.0
KEY = b'{"id": %d, "created_at": "2026-12-01T10:00:00Z"}'


def _send(p: KafkaProducer, topic: str, mid: int) -> None:
    p.send(topic, key=KEY % mid, value=envelope("messages", "c", message_row(mid), lsn=mid))
    p.flush()


def _count(dsn: str, ids: list[int]) -> int:
    return int(str(query(dsn, "SELECT count(*) FROM dwh_messages WHERE id = ANY(%s)", ids)[0][0]))


def test_ingestion_starts_while_topics_are_created_during_the_join(
    dwh_db: str, producer: KafkaProducer, tmp_path: Path
) -> None:
    took = []
    for n in range(ROUNDS):
        root = unique_root()
        first, later = [100 * n + 1], [100 * n + 2, 100 * n + 3]
        dwh = DwhProcess(
            dwh_db,
            kafka_bootstrap(),
            root,
            "1=east,2=east,3=west",
            tmp_path / f"dwh{n}.log",
            extra_env={"RCS_DWH_POLL_MS": "5"},
        )
        started = time.monotonic()
        dwh.start()
        try:
            # Created (auto) while rcs_dwh starts and its group forms.
            _send(producer, f"{root}.i1.public.messages", first[0])
            wait_for(
                lambda ids=first: _count(dwh_db, ids) == 1, DEADLINE, f"round {n}: the first event"
            )
            # Two more topics once the group has its first assignment: a rebalance each.
            _send(producer, f"{root}.i2.public.messages", later[0])
            _send(producer, f"{root}.i3.public.messages", later[1])
            wait_for(
                lambda ids=later: _count(dwh_db, ids) == 2, DEADLINE, f"round {n}: the new topics"
            )
            took.append(round(time.monotonic() - started, 1))
            assert dwh.alive()
        except AssertionError:
            print(dwh.log())
            raise
        finally:
            dwh.stop()
    print(f"seconds from start to all three topics ingested, per round: {took}")
