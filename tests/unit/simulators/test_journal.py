"""The simulator's journal of owed receipts: replayed across a restart, compacted."""

from __future__ import annotations

from pathlib import Path

from rcs_simulators.smsc.journal import Owed, OwedJournal


def _owed(n: int) -> Owed:
    return Owed("rcs", f"m{n}", f"r{n}", "RCS", f"7916{n:07d}", 1, 1, "2026-12-07T00:00:00+00:00")


def test_what_is_owed_survives_a_restart_and_what_was_paid_does_not(tmp_path: Path) -> None:
    path = tmp_path / "owed.jsonl"
    first = OwedJournal(path)
    assert first.load() == []
    for n in range(3):
        first.owe(_owed(n))
    first.paid("m1")
    first.close()  # every line was flushed as written: a kill -9 here loses nothing
    with path.open("a") as f:  # and a line the kill cut short is skipped
        f.write('{"owed": {"system_')
    second = OwedJournal(path)
    assert [o.message_id for o in second.load()] == ["m0", "m2"]
    second.close()


def test_a_long_run_is_compacted_to_what_is_owed(tmp_path: Path) -> None:
    path = tmp_path / "owed.jsonl"
    journal = OwedJournal(path, compact_every=10)
    journal.load()
    for n in range(25):
        journal.owe(_owed(n))
        journal.paid(f"m{n}")
    journal.owe(_owed(99))
    assert len(path.read_text().splitlines()) <= 11
    journal.close()
    again = OwedJournal(path)
    assert [o.message_id for o in again.load()] == ["m99"]
    again.close()
