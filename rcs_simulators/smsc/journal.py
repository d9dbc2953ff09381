"""The receipts the simulator still owes, kept in a file so that a restart (kill -9
included) sends them after all, as a real SMSC keeps its store: one JSON line per receipt
owed and one per receipt acknowledged; replayed and compacted at start-up."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO


@dataclass(frozen=True, slots=True)
class Owed:
    system_id: str
    message_id: str
    receipt_id: str
    source_addr: str
    destination_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    submitted_at: str  # ISO 8601, UTC

    @property
    def submitted(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.submitted_at)


class OwedJournal:
    """Append-only; every line is flushed to the kernel at once, so a killed process loses
    nothing it wrote (a lost host may lose the last lines: a simulator's trade-off)."""

    def __init__(self, path: Path, compact_every: int = 100_000) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._owed: dict[str, Owed] = {}
        # Lines written since the file last held only what is owed: past this many it is
        # rewritten, so that a long run does not grow it without end.
        self._compact_every = compact_every
        self._written = 0

    def load(self) -> list[Owed]:
        """What is still owed, oldest first; the file is rewritten with only that."""
        owed = self._owed
        owed.clear()
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut short by the kill: its receipt was not owed yet
                if entry.get("paid"):
                    owed.pop(str(entry["paid"]), None)
                elif "owed" in entry:
                    item = Owed(**entry["owed"])
                    owed[item.message_id] = item
        self._compact()
        return list(owed.values())

    def _compact(self) -> None:
        if self._file is not None:
            self._file.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        compacted = self.path.with_suffix(".tmp")
        compacted.write_text(
            "".join(json.dumps({"owed": asdict(o)}) + "\n" for o in self._owed.values()),
            encoding="utf-8",
        )
        os.replace(compacted, self.path)
        self._file = self.path.open("a", encoding="utf-8")
        self._written = 0

    def owe(self, item: Owed) -> None:
        self._owed[item.message_id] = item
        self._write({"owed": asdict(item)})

    def paid(self, message_id: str) -> None:
        if self._owed.pop(message_id, None) is not None:
            self._write({"paid": message_id})

    def _write(self, entry: dict[str, object]) -> None:
        if self._file is None:
            raise RuntimeError("OwedJournal.load() first")
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()
        self._written += 1
        if self._written >= self._compact_every:
            self._compact()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
