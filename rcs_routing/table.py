"""The compiled routing table (pure: no I/O).

number → direction (see ``RoutingTable.direction_of`` for which source wins) → operator →
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
# A number-plan range pins down whole 11-digit numbers: it is more specific than any prefix
# shorter than that, and no more specific than a prefix of that length or longer.
RANGE_SPECIFICITY = 11


@dataclass(frozen=True, slots=True)
class Direction:
    name: str
    operator: str
    # Number-plan directions: the registry's region, where a ported number looks for its
    # recipient operator's own direction. Empty for hand-made directions.
    region: str = ""


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
        ported: Iterable[tuple[str, str]] = (),
    ) -> None:
        """``ported``: (number, recipient operator) pairs from the MNP table."""
        self.revision = revision
        self._prefixes: dict[str, Direction] = dict(prefixes)
        lengths = sorted({len(p) for p in self._prefixes}, reverse=True)
        self._long_lengths = [n for n in lengths if n >= RANGE_SPECIFICITY]
        self._lengths = [n for n in lengths if n < RANGE_SPECIFICITY]
        ordered = sorted(ranges, key=lambda r: r[0])
        for (s1, e1, d1), (s2, _e2, d2) in itertools.pairwise(ordered):
            if s2 <= e1:
                raise ValueError(
                    f"number ranges overlap: {s1}-{e1} ({d1.name}) and {s2}- ({d2.name})"
                )
        self._range_starts = [r[0] for r in ordered]
        # Digit counts a range can cover: other numbers skip the int() and the bisection.
        self._range_digits: set[int] = (
            set(range(len(str(ordered[0][0])), len(str(max(r[1] for r in ordered))) + 1))
            if ordered
            else set()
        )
        self._ranges = ordered
        self._interfaces = interfaces_by_operator
        directions = {*self._prefixes.values(), *(r[2] for r in ordered)}
        self._ported = self._compile_ported(ported, directions)
        directions.update(d for d, _ in self._ported.values())
        # Routable directions precomputed: direction → (name, operator, interface).
        self._fast: dict[Direction, tuple[str, str, str]] = {
            d: (d.name, d.operator, interfaces_by_operator[d.operator][0])
            for d in directions
            if interfaces_by_operator.get(d.operator)
        }

    def _compile_ported(
        self, ported: Iterable[tuple[str, str]], directions: set[Direction]
    ) -> dict[str, tuple[Direction, str]]:
        """number → (direction, how) for every ported number whose operator changes.

        The number keeps the direction of its range (or prefix); the operator becomes the
        recipient. If the recipient has its own direction in the same region, that one is
        used; otherwise the range's direction name with the recipient operator."""
        regional = {(d.operator, d.region): d for d in directions if d.region}
        out: dict[str, tuple[Direction, str]] = {}
        for number, operator in ported:
            base, how = self._plan_direction_of(number)
            if base is None:
                out[number] = (
                    Direction(f"ported to {operator}", operator),
                    f"ported number (operator {operator}; no prefix or range covers it)",
                )
                continue
            if base.operator == operator:
                continue  # ported back home: nothing changes
            own = regional.get((operator, base.region)) if base.region else None
            direction = own or Direction(base.name, operator, base.region)
            out[number] = (direction, f"ported number (operator {operator}; {how})")
        return out

    def direction_of(self, number: str) -> tuple[Direction | None, str]:
        """The direction of ``number`` and how it was matched; the most specific source wins:

        1. a ported number (MNP): the recipient operator, in the direction its range gives
           (or the recipient's own direction in the same region);
        2. a prefix of ``RANGE_SPECIFICITY`` (11) digits or more, longest first;
        3. a number range covering the number (the number plan's ranges are sets of whole
           11-digit numbers, so they beat any shorter prefix: "7" or a hand-made "7916");
        4. the longest shorter prefix (country codes such as "7" or "49").
        """
        if self._ported:
            hit = self._ported.get(number)
            if hit is not None:
                return hit
        return self._plan_direction_of(number)

    def _plan_direction_of(self, number: str) -> tuple[Direction | None, str]:
        """``direction_of`` without the ported numbers (steps 2-4)."""
        for length in self._long_lengths:
            if length <= len(number):
                hit = self._prefixes.get(number[:length])
                if hit is not None:
                    return hit, f"prefix {number[:length]}"
        if len(number) in self._range_digits and number.isdigit():
            value = int(number)
            i = bisect.bisect_right(self._range_starts, value) - 1
            if i >= 0 and value <= self._ranges[i][1]:
                start, end, direction = self._ranges[i]
                return direction, f"range {start}-{end}"
        for length in self._lengths:
            if length <= len(number):
                hit = self._prefixes.get(number[:length])
                if hit is not None:
                    return hit, f"prefix {number[:length]}"
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
