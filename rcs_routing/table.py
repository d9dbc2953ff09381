"""The compiled routing table (pure: no I/O).

number → direction (see ``RoutingTable.direction_of`` for which source wins) → operator →
interface (the operator's enabled interfaces by priority). Built once per settings
revision and swapped whole, so a lookup never sees a half-applied revision.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from rcs_routing.region_zones import zone_for_region
from rcs_routing.rules import Rule, RuleIndex
from rcs_routing.substitution import Substitutions
from rcs_routing.traffic_hours import DEFAULT_TRAFFIC_TYPE, HoursPolicy
from rcs_runtime.send_window import next_opening

UNROUTED = 11  # Rapporto extended error code "unrouted"
FILTERED = 10  # Rapporto extended error code "filtered": refused by a traffic policy
# Values of rcs.routing.v1.PolicyOutcome and RuleVerdictKind (the table stays proto-free).
POLICY_ALLOW, POLICY_HOLD, POLICY_REFUSE = 1, 2, 3
CHOSEN, OUTRANKED, NOT_MATCHING, DISABLED = 1, 2, 3, 4
# Explain lists every rule that matched, and at most this many that did not.
EXPLAIN_MISSES = 50
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


class Verdict(NamedTuple):
    """How one rule fared in a decision (explain only)."""

    name: str
    priority: int
    kind: int
    reason: str


class PartnerWindow(NamedTuple):
    """A partner's sending window (rcs.common.v1.SendWindow): [begin, end) minutes after
    local midnight on ``weekdays`` (empty: every day), in ``utc_offset_minutes`` or, when
    None, the subscriber's own zone."""

    begin: int
    end: int
    weekdays: frozenset[int]
    utc_offset_minutes: int | None


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
    fallbacks: tuple[str, ...] = ()
    rule: str = ""
    traffic_type: int = DEFAULT_TRAFFIC_TYPE
    policy: int = 0
    hold_until: dt.datetime | None = None
    rules: tuple[Verdict, ...] = ()
    substitutions: tuple[Verdict, ...] = ()
    held_by_window: bool = False  # the partner's sending window holds it, not the hours


@dataclass(frozen=True, slots=True)
class Policy:
    """What besides the number decides a route: rules, substitution, traffic types."""

    rules: tuple[Rule, ...] = ()
    substitutions: Substitutions | None = None
    # Sender name (casefolded) → the traffic type it is registered for.
    sender_types: dict[str, int] | None = None
    hours: dict[int, HoursPolicy] | None = None
    # Number-plan region → IANA zone; region "" is the installation default.
    region_zones: dict[str, str] | None = None
    enabled_interfaces: frozenset[str] = frozenset()


# Ranges are found through buckets of BUCKET consecutive numbers: one dict lookup and a
# bisection of the few ranges touching that bucket. Bisecting all 500,000 sorted starts
# costs more (every probe a cache miss). Ranges wider than WIDE_BUCKETS buckets are kept
# apart and bisected on their own.
BUCKET = 100_000
WIDE_BUCKETS = 10_000

Range = tuple[int, int, Direction]


# One bucket: range starts and ends as machine-int arrays (contiguous, so a bisection
# touches one or two cache lines rather than an int object per probe) and the directions.
Bucket = tuple["array[int]", "array[int]", tuple[Direction, ...]]


def _bucketed(ordered: list[Range]) -> tuple[dict[int, Bucket], list[Range]]:
    buckets: dict[int, list[Range]] = {}
    wide: list[Range] = []
    for r in ordered:
        first, last = r[0] // BUCKET, r[1] // BUCKET
        if last - first >= WIDE_BUCKETS:
            wide.append(r)
            continue
        for b in range(first, last + 1):
            buckets.setdefault(b, []).append(r)
    return {
        b: (array("q", [r[0] for r in rs]), array("q", [r[1] for r in rs]), tuple(r[2] for r in rs))
        for b, rs in buckets.items()
    }, wide


class RoutingTable:
    def __init__(
        self,
        *,
        revision: int,
        prefixes: Iterable[tuple[str, Direction]],
        ranges: Iterable[tuple[int, int, Direction]],
        interfaces_by_operator: dict[str, list[str]],
        ported: Iterable[tuple[str, str]] = (),
        policy: Policy | None = None,
    ) -> None:
        """``ported``: (number, recipient operator) pairs from the MNP table."""
        self.revision = revision
        policy = policy or Policy()
        enabled = set(policy.enabled_interfaces)
        enabled.update(i for ids in interfaces_by_operator.values() for i in ids)
        self._rules = RuleIndex(policy.rules, enabled)
        self._has_rules = bool(self._rules)
        self._subs = policy.substitutions or Substitutions((), ())
        self._sender_types = policy.sender_types or {}
        self._hours = policy.hours or {}
        self._region_zones = policy.region_zones or {}
        self._default_zone = ZoneInfo(self._region_zones.get("", "Europe/Moscow"))
        self._zones: dict[str, ZoneInfo] = {}
        self._opens_memo: dict[tuple[int, str], tuple[dt.datetime, dt.datetime | None]] = {}
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
        self._buckets, wide = _bucketed(ordered)
        self._wide_starts = [r[0] for r in wide]
        self._wide = wide
        # Digit counts a range can cover: other numbers skip the int() and the bisection.
        self._range_digits: set[int] = (
            set(range(len(str(ordered[0][0])), len(str(max(r[1] for r in ordered))) + 1))
            if ordered
            else set()
        )
        self._ranges = ordered
        self._interfaces = interfaces_by_operator
        self._fallbacks = {op: tuple(ids[1:]) for op, ids in interfaces_by_operator.items()}
        directions = {*self._prefixes.values(), *(r[2] for r in ordered)}
        self._ported = self._compile_ported(ported, directions)
        directions.update(d for d, _ in self._ported.values())

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

    def direction_of(self, number: str, describe: bool = True) -> tuple[Direction | None, str]:
        """The direction of ``number`` and how it was matched; the most specific source wins:

        1. a ported number (MNP): the recipient operator, in the direction its range gives
           (or the recipient's own direction in the same region);
        2. a prefix of ``RANGE_SPECIFICITY`` (11) digits or more, longest first;
        3. a number range covering the number (the number plan's ranges are sets of whole
           11-digit numbers, so they beat any shorter prefix: "7" or a hand-made "7916");
        4. the longest shorter prefix (country codes such as "7" or "49").

        ``describe=False`` leaves "how" empty: formatting it costs as much as the lookup.
        """
        if self._ported:
            hit = self._ported.get(number)
            if hit is not None:
                return hit
        return self._plan_direction_of(number, describe)

    def _plan_direction_of(
        self, number: str, describe: bool = True
    ) -> tuple[Direction | None, str]:
        """``direction_of`` without the ported numbers (steps 2-4)."""
        for length in self._long_lengths:
            if length <= len(number):
                hit = self._prefixes.get(number[:length])
                if hit is not None:
                    return hit, f"prefix {number[:length]}" if describe else ""
        if len(number) in self._range_digits and number.isdigit():
            value = int(number)
            bucket = self._buckets.get(value // BUCKET)
            if bucket is not None:
                starts, ends, found = bucket
                i = bisect.bisect_right(starts, value) - 1
                if i >= 0 and value <= ends[i]:
                    return found[i], f"range {starts[i]}-{ends[i]}" if describe else ""
            i = bisect.bisect_right(self._wide_starts, value) - 1
            if i >= 0 and value <= self._wide[i][1]:
                start, end, direction = self._wide[i]
                return direction, f"range {start}-{end}" if describe else ""
        for length in self._lengths:
            if length <= len(number):
                hit = self._prefixes.get(number[:length])
                if hit is not None:
                    return hit, f"prefix {number[:length]}" if describe else ""
        return None, ""

    def zone_of(self, direction: Direction) -> ZoneInfo:
        """The subscriber's time zone: the region's configured zone, else the zone the
        region's name implies, else the installation default."""
        zone = self._zones.get(direction.region)
        if zone is None:
            name = self._region_zones.get(direction.region) if direction.region else None
            name = name or (zone_for_region(direction.region) if direction.region else None)
            zone = ZoneInfo(name) if name else self._default_zone
            self._zones[direction.region] = zone
        return zone

    def _opens(
        self, hours: HoursPolicy, traffic_type: int, direction: Direction, now: dt.datetime | None
    ) -> dt.datetime | None:
        """``hours.next_allowed`` in the direction's zone, memoised per zone for one ``now``:
        a batch is resolved at one clock reading, so its thousands of messages share a few
        zones and the time-zone arithmetic is done once per zone."""
        now = now or dt.datetime.now(dt.UTC)
        key = (traffic_type, direction.region)
        hit = self._opens_memo.get(key)
        if hit is not None and hit[0] == now:
            return hit[1]
        opens = hours.next_allowed(now, self.zone_of(direction))
        self._opens_memo[key] = (now, opens)
        return opens

    def _window_opens(
        self, window: PartnerWindow, direction: Direction, now: dt.datetime | None
    ) -> dt.datetime | None:
        """None when ``now`` is inside the partner's window, else when it next opens."""
        now = now or dt.datetime.now(dt.UTC)
        zone: dt.tzinfo = (
            self.zone_of(direction)
            if window.utc_offset_minutes is None
            else dt.timezone(dt.timedelta(minutes=window.utc_offset_minutes))
        )
        opens = next_opening(now, window.begin, window.end, window.weekdays, zone)
        return opens if opens > now else None

    def resolve(
        self,
        number: str,
        sender: str,
        *,
        partner: str = "",
        channel: int = 0,
        traffic_type: int | None = None,
        now: dt.datetime | None = None,
        explain: bool = False,
        window: PartnerWindow | None = None,
    ) -> Decision:
        """Number → direction → operator; sender substitution; traffic type; the best
        routing rule (else the operator's own interfaces); then the traffic type's hours.

        Hot path: one Decision built positionally at the end. ``explain`` narrates the
        same decision afterwards rather than deciding a second way."""
        direction = (
            self._plan_direction_of(number, False)[0]
            if not self._ported
            else self.direction_of(number, describe=False)[0]
        )
        if direction is None:
            decision = Decision(False, "", "", "", sender, UNROUTED, self.revision)
            return (
                self._explain(decision, number, sender, partner, channel) if explain else decision
            )
        operator = direction.operator
        folded = sender.casefold()
        final = (
            self._subs.apply(sender, partner, direction.name, operator)[0]
            if self._subs.may_change(folded)
            else sender
        )
        if traffic_type is None or traffic_type < 0:
            traffic_type = self._sender_types.get(folded, DEFAULT_TRAFFIC_TYPE)
        rule = (
            self._rules.best(
                (
                    partner,
                    folded if final is sender else final.casefold(),
                    direction.name,
                    operator,
                    channel,
                    traffic_type,
                )
            )
            if self._has_rules
            else None
        )
        if rule is None:
            interfaces = self._interfaces.get(operator)
            if interfaces:
                interface_id, fallbacks, rule_name = interfaces[0], self._fallbacks[operator], ""
            else:
                interface_id = ""
        elif rule.action == "reject":
            interface_id = ""
        else:
            interface_id, fallbacks = self._rules.pickers[rule.name].pick()
            rule_name = rule.name
        if not interface_id:
            decision = Decision(
                False,
                direction.name,
                operator,
                "",
                final,
                UNROUTED,
                self.revision,
                (),
                (),
                rule.name if rule else "",
                traffic_type,
            )
            return (
                self._explain(decision, number, sender, partner, channel) if explain else decision
            )
        policy, hold_until, error_code, by_window = POLICY_ALLOW, None, 0, False
        hours = self._hours.get(traffic_type)
        if hours is not None:
            hold_until = self._opens(hours, traffic_type, direction, now)
            if hold_until is not None:
                policy = POLICY_REFUSE if hours.refuse else POLICY_HOLD
                error_code = FILTERED if hours.refuse else 0
        if window is not None and policy != POLICY_REFUSE:
            # The partner's own window, in the subscriber's zone when it asked: held until
            # it opens. When both hold, the later opening; the message is routed again then.
            opens = self._window_opens(window, direction, now)
            if opens is not None and (hold_until is None or opens > hold_until):
                policy, hold_until, by_window = POLICY_HOLD, opens, True
        decision = Decision(
            policy != POLICY_REFUSE,
            direction.name,
            operator,
            interface_id,
            final,
            error_code,
            self.revision,
            (),
            fallbacks,
            rule_name,
            traffic_type,
            policy,
            hold_until if policy == POLICY_HOLD else None,
            held_by_window=by_window,
        )
        return self._explain(decision, number, sender, partner, channel) if explain else decision

    def _explain(
        self,
        d: Decision,
        number: str,
        sender: str,
        partner: str,
        channel: int,
    ) -> Decision:
        """``d`` with the steps that led to it and the verdict of every rule."""
        direction, how = self.direction_of(number)
        if direction is None:
            return d._replace(steps=(f"no direction has a prefix or range covering {number}",))
        steps = [f"direction {direction.name} matched by {how}", f"operator {d.operator}"]
        _, used = self._subs.apply(sender, partner, direction.name, d.operator)
        steps.append(
            f"sender {sender!r} → {d.sender!r} by {', '.join(used)}"
            if used
            else f"sender {sender!r} unchanged"
        )
        steps.append(f"traffic type {d.traffic_type}")
        rule = next((r for r in self._rules.rules if r.name == d.rule), None)
        query = (partner, d.sender.casefold(), d.direction, d.operator, channel, d.traffic_type)
        if rule is not None:
            verb = "refuses this traffic" if rule.action == "reject" else "matched"
            steps.append(f"rule {rule.name} (priority {rule.priority}) {verb}")
        elif d.interface_id:
            steps.append("no rule matched: the operator's own interfaces")
        else:
            steps.append(f"no rule matched and operator {d.operator} has no enabled interface")
        if d.interface_id:
            steps.append(
                f"interface {d.interface_id}"
                + (f", failover to {', '.join(d.fallbacks)}" if d.fallbacks else "")
            )
            hours = self._hours.get(d.traffic_type)
            if hours is None:
                steps.append(f"traffic type {d.traffic_type} has no hours restriction")
            else:
                zone = self.zone_of(direction)
                region = direction.region or "unknown: default zone"
                steps.append(f"{hours.describe()}; zone {zone.key} (region {region})")
                if d.policy == POLICY_REFUSE:
                    steps.append("outside the allowed hours: refused")
                elif d.policy == POLICY_HOLD and d.hold_until is not None and not d.held_by_window:
                    steps.append(f"outside the allowed hours: held until {_utc(d.hold_until)}")
                elif not d.held_by_window:
                    steps.append("inside the allowed hours")
            if d.held_by_window and d.hold_until is not None:
                steps.append(
                    f"outside the partner's sending window: held until {_utc(d.hold_until)}"
                )
        return d._replace(
            steps=tuple(steps),
            rules=self._rule_verdicts(query, rule),
            substitutions=self._substitution_verdicts(
                sender, partner, direction.name, d.operator, used
            ),
        )

    def _rule_verdicts(
        self, query: tuple[str, str, str, str, int, int], chosen: Rule | None
    ) -> tuple[Verdict, ...]:
        matched: list[Verdict] = []
        misses: list[Verdict] = []
        for rule in self._rules.rules:
            if not rule.enabled:
                misses.append(Verdict(rule.name, rule.priority, DISABLED, "disabled"))
                continue
            why = rule.mismatch(query) or self._rules.unusable.get(rule.name, "")
            if why:
                misses.append(Verdict(rule.name, rule.priority, NOT_MATCHING, why))
            elif chosen is not None and rule.name == chosen.name:
                how = "general rule" if rule.general else "personal rule"
                matched.insert(0, Verdict(rule.name, rule.priority, CHOSEN, f"{how}, best rank"))
            else:
                assert chosen is not None
                matched.append(
                    Verdict(
                        rule.name,
                        rule.priority,
                        OUTRANKED,
                        f"matched, but {chosen.name} (priority {chosen.priority}) ranks first",
                    )
                )
        return (*matched, *misses[:EXPLAIN_MISSES])

    def _substitution_verdicts(
        self, sender: str, partner: str, direction: str, operator: str, used: list[str]
    ) -> tuple[Verdict, ...]:
        out = []
        current = sender
        for rule in self._subs.rules:
            if rule.name in used:
                out.append(
                    Verdict(rule.name, rule.priority, CHOSEN, f"replaced by {rule.replacement!r}")
                )
                continue
            why = self._subs.why_not(rule, current, partner, direction, operator)
            out.append(Verdict(rule.name, rule.priority, NOT_MATCHING, why or "outranked"))
        return tuple(out)


def _utc(when: dt.datetime) -> str:
    return f"{when.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
