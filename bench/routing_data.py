"""A synthetic routing table at the size issue 3 asks for: 500,000 number ranges and
10,000 rules of mixed shapes (shared by the in-process benchmark and bench.grpc_resolve)."""

from __future__ import annotations

import datetime as dt
import random

from rcs_routing.rules import Rule, Target
from rcs_routing.substitution import SubstitutionRuleSpec, Substitutions
from rcs_routing.table import Direction, Policy, RoutingTable
from rcs_routing.traffic_hours import HoursPolicy

RANGE_BASE = 79_000_000_000
RANGE_SIZE = 2_000  # 500,000 ranges of 2,000 numbers cover 7900… to 7999…
OPERATORS = [f"op-{i}" for i in range(20)]
PARTNERS = [f"partner-{i}" for i in range(1000)]
SENDERS = [f"SENDER{i}" for i in range(2000)]


def build_table(ranges: int = 500_000, rules: int = 10_000, seed: int = 7) -> RoutingTable:
    rng = random.Random(seed)
    directions = [
        Direction(f"dir-{i}", OPERATORS[i % len(OPERATORS)], f"region-{i % 85}")
        for i in range(5000)
    ]
    spans = [
        (
            RANGE_BASE + i * RANGE_SIZE,
            RANGE_BASE + i * RANGE_SIZE + RANGE_SIZE - 1,
            directions[i % len(directions)],
        )
        for i in range(ranges)
    ]
    interfaces = [f"if-{i}" for i in range(40)]
    made: list[Rule] = []
    for i in range(rules):
        shape = i % 5
        targets = tuple(
            Target(t, rng.randint(1, 10)) for t in rng.sample(interfaces, rng.randint(1, 3))
        )
        kw: dict[str, object] = {}
        if shape == 0:
            kw["partner"] = rng.choice(PARTNERS)
        elif shape == 1:
            kw["sender"] = rng.choice(SENDERS)
        elif shape == 2:
            kw["partner"] = rng.choice(PARTNERS)
            kw["direction"] = rng.choice(directions).name
        elif shape == 3:
            kw["operator"] = rng.choice(OPERATORS)
            kw["traffic_type"] = rng.choice((0, 1, 2, 5, 6, 7))
        else:
            kw["partner"] = rng.choice(PARTNERS)
            kw["channel"] = 1
            kw["sender"] = rng.choice(SENDERS)
        made.append(Rule(f"rule-{i}", rng.randrange(1000), targets=targets, **kw))  # type: ignore[arg-type]
    made.append(Rule("general", 999_999, targets=(Target("if-0"),)))
    subs = [
        SubstitutionRuleSpec(f"sub-{i}", i, True, f"SENDER{i}", True, "COMMON", operator=op)
        for i, op in enumerate(OPERATORS)
    ]
    registered = [(s, rng.choice(OPERATORS)) for s in SENDERS]
    return RoutingTable(
        revision=1,
        prefixes=[("7", Direction("Russia", OPERATORS[0]))],
        ranges=spans,
        interfaces_by_operator={op: interfaces[:2] for op in OPERATORS},
        policy=Policy(
            rules=tuple(made),
            substitutions=Substitutions(subs, registered),
            sender_types={s.casefold(): rng.choice((0, 1, 2)) for s in SENDERS},
            hours={
                0: HoursPolicy(dt.time(9), dt.time(21)),
                7: HoursPolicy(dt.time(9), dt.time(21)),
            },
            region_zones={"": "Europe/Moscow"},
            enabled_interfaces=frozenset(interfaces),
        ),
    )


def queries(count: int, seed: int = 1) -> list[tuple[str, str, str, int]]:
    """(number, sender, partner, channel) spread over the whole plan."""
    rng = random.Random(seed)
    span = 500_000 * RANGE_SIZE
    return [
        (
            str(RANGE_BASE + rng.randrange(span)),
            rng.choice(SENDERS),
            rng.choice(PARTNERS),
            1,
        )
        for _ in range(count)
    ]
