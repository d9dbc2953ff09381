"""Routing rules (SPEC F14), pure: no I/O.

A rule matches traffic by any of partner, sender, direction, operator, channel and traffic
type (unset = any) and either routes it to weighted interfaces or refuses it. The lowest
priority number wins; on equal priority the more specific rule (more conditions), then
the name. A rule without conditions is a general rule.

Rules are indexed by which conditions they set (their "shape"): for each shape a dict from
the condition values to the best rule with them. A lookup builds one key per shape from
the query and keeps the best hit — a handful of dict lookups however many rules there
are, which keeps resolve within its microseconds with 10,000 rules.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

ANY_TRAFFIC = -1
FIELDS = ("partner", "sender", "direction", "operator", "channel", "traffic_type")

# The query as a plain tuple, in FIELDS order: what the shape keys are cut from.
Query = tuple[str, str, str, str, int, int]


@dataclass(frozen=True, slots=True)
class Target:
    interface_id: str
    weight: int = 1


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    priority: int
    action: str = "route"  # "route" | "reject"
    enabled: bool = True
    partner: str = ""
    sender: str = ""
    direction: str = ""
    operator: str = ""
    channel: int = 0  # rcs.common.v1.Channel; 0 = any
    traffic_type: int = ANY_TRAFFIC
    targets: tuple[Target, ...] = ()

    # Derived once: rank is compared on every lookup.
    conditions: tuple[Any, ...] = field(init=False, repr=False, compare=False)
    shape: tuple[int, ...] = field(init=False, repr=False, compare=False)
    rank: tuple[int, int, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        conditions = (
            self.partner,
            self.sender.casefold(),
            self.direction,
            self.operator,
            self.channel,
            self.traffic_type,
        )
        unset: tuple[Any, ...] = ("", "", "", "", 0, ANY_TRAFFIC)
        # Indexes (into FIELDS) of the conditions this rule sets.
        shape = tuple(i for i, (v, u) in enumerate(zip(conditions, unset, strict=True)) if v != u)
        object.__setattr__(self, "conditions", conditions)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "rank", (self.priority, -len(shape), self.name))

    @property
    def general(self) -> bool:
        return not self.shape

    def mismatch(self, query: Query) -> str:
        """For explain: the first condition that does not hold, or ""."""
        for i in self.shape:
            if self.conditions[i] != query[i]:
                want = self.conditions[i]
                return f"{FIELDS[i]} is {query[i]!r}, the rule wants {want!r}"
        return ""


@dataclass(frozen=True, slots=True)
class Picker:
    """Weighted choice of the first interface; the rest follow as fallbacks by weight."""

    ids: tuple[str, ...]
    cumulative: tuple[int, ...] = ()
    # rest[i]: the fallbacks when ids[i] is picked, built once rather than per message.
    rest: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of(cls, targets: Sequence[Target]) -> Picker:
        # Heavier first, then as listed: the failover order after the weighted pick.
        ordered = sorted(enumerate(targets), key=lambda it: (-it[1].weight, it[0]))
        ids = tuple(t.interface_id for _, t in ordered)
        rest = tuple((*ids[:i], *ids[i + 1 :]) for i in range(len(ids)))
        if len(ids) <= 1:
            return cls(ids, (), rest)
        return cls(ids, tuple(itertools.accumulate(t.weight for _, t in ordered)), rest)

    def pick(self, rand: Callable[[], float] = random.random) -> tuple[str, tuple[str, ...]]:
        if not self.cumulative:
            return self.ids[0], ()
        i = bisect.bisect_right(self.cumulative, rand() * self.cumulative[-1])
        i = min(i, len(self.ids) - 1)
        return self.ids[i], self.rest[i]


class RuleIndex:
    """The enabled rules that can route, indexed by shape; all rules kept for explain."""

    def __init__(self, rules: Iterable[Rule], enabled_interfaces: set[str]) -> None:
        self.rules = sorted(rules, key=lambda r: r.rank)
        self.pickers: dict[str, Picker] = {}
        self.unusable: dict[str, str] = {}
        by_shape: dict[tuple[int, ...], dict[Any, Rule]] = {}
        for rule in self.rules:
            if not rule.enabled:
                continue
            if rule.action == "route":
                live = [t for t in rule.targets if t.interface_id in enabled_interfaces]
                if not live:
                    self.unusable[rule.name] = "none of its interfaces is enabled"
                    continue
                self.pickers[rule.name] = Picker.of(live)
            shape = rule.shape
            key = _key_of(shape)(rule.conditions) if shape else ()
            by_shape.setdefault(shape, {}).setdefault(key, rule)  # sorted: first is best
        self._general = by_shape.pop((), {}).get(())
        # Cut each shape's key straight from the query tuple.
        self._shapes = [(_key_of(shape), table) for shape, table in by_shape.items()]

    def __bool__(self) -> bool:
        return self._general is not None or bool(self._shapes)

    def best(self, query: Query) -> Rule | None:
        best = self._general
        rank = best.rank if best is not None else None
        for key_of, table in self._shapes:
            hit = table.get(key_of(query))
            if hit is not None and (rank is None or hit.rank < rank):
                best, rank = hit, hit.rank
        return best


def _key_of(shape: tuple[int, ...]) -> Callable[[Sequence[Any]], Any]:
    return itemgetter(*shape)
