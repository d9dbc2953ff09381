"""The compiled routing table (pure: no I/O).

number → direction (longest prefix, then inclusive number ranges) → operator →
interface (the operator's enabled interfaces by priority). Built once per settings
revision and swapped whole, so a lookup never sees a half-applied revision.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

UNROUTED = 11  # Rapporto extended error code "unrouted"


@dataclass(frozen=True, slots=True)
class Direction:
    name: str
    operator: str


class Decision(NamedTuple):
    """A tuple, because building it is on the per-message hot path."""

    found: bool
    direction: str = ""
    operator: str = ""
    interface_id: str = ""
    sender: str = ""
    error_code: int = 0
    revision: int = 0
    steps: tuple[str, ...] = ()


class RoutingTable:
    def __init__(
        self,
        *,
        revision: int,
        prefixes: Iterable[tuple[str, Direction]],
        ranges: Iterable[tuple[int, int, Direction]],
        interfaces_by_operator: dict[str, list[str]],
    ) -> None:
        self.revision = revision
        self._prefixes: dict[str, Direction] = dict(prefixes)
        self._lengths = sorted({len(p) for p in self._prefixes}, reverse=True)
        ordered = sorted(ranges, key=lambda r: r[0])
        for (s1, e1, d1), (s2, _e2, d2) in itertools.pairwise(ordered):
            if s2 <= e1:
                raise ValueError(
                    f"number ranges overlap: {s1}-{e1} ({d1.name}) and {s2}- ({d2.name})"
                )
        self._range_starts = [r[0] for r in ordered]
        self._ranges = ordered
        self._interfaces = interfaces_by_operator
        # Routable directions precomputed: direction → (name, operator, interface).
        self._fast: dict[Direction, tuple[str, str, str]] = {
            d: (d.name, d.operator, interfaces_by_operator[d.operator][0])
            for d in {*self._prefixes.values(), *(r[2] for r in ordered)}
            if interfaces_by_operator.get(d.operator)
        }

    def direction_of(self, number: str) -> tuple[Direction | None, str]:
        for length in self._lengths:
            if length <= len(number):
                hit = self._prefixes.get(number[:length])
                if hit is not None:
                    return hit, f"prefix {number[:length]}"
        if self._ranges and number.isdigit():
            value = int(number)
            i = bisect.bisect_right(self._range_starts, value) - 1
            if i >= 0 and self._ranges[i][0] <= value <= self._ranges[i][1]:
                start, end, direction = self._ranges[i]
                return direction, f"range {start}-{end}"
        return None, ""

    def resolve(self, number: str, sender: str, *, explain: bool = False) -> Decision:
        direction, how = self.direction_of(number)
        if not explain and direction is not None:
            hit = self._fast.get(direction)
            if hit is not None:
                return Decision(True, hit[0], hit[1], hit[2], sender, 0, self.revision)
        if direction is None:
            return Decision(
                found=False,
                error_code=UNROUTED,
                revision=self.revision,
                steps=(f"no direction has a prefix or range covering {number}",) if explain else (),
            )
        interfaces = self._interfaces.get(direction.operator, [])
        if not interfaces:
            return Decision(
                found=False,
                direction=direction.name,
                operator=direction.operator,
                error_code=UNROUTED,
                revision=self.revision,
                steps=(
                    f"direction {direction.name} matched by {how}",
                    f"operator {direction.operator} has no enabled interface",
                )
                if explain
                else (),
            )
        return Decision(
            found=True,
            direction=direction.name,
            operator=direction.operator,
            interface_id=interfaces[0],
            sender=sender,
            revision=self.revision,
            steps=(
                f"direction {direction.name} matched by {how}",
                f"operator {direction.operator}",
                f"interface {interfaces[0]} (first enabled of {', '.join(interfaces)})",
                f"sender {sender!r} unchanged (no substitution rules yet)",
            )
            if explain
            else (),
        )
