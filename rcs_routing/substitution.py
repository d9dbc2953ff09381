"""Sender-name substitution (SPEC F12), pure: no I/O.

A rule replaces a sender matching its glob pattern, optionally only when the sender is not
registered with the number's operator (the usual case: an unregistered name becomes the
operator-registered common name). Rules are applied in priority order, one after another,
until none changes the sender, so "A → B" and "B → C" give C. A set of rules in which a
sender could come back to a value it already had (A → B → A, through any number of rules
whose conditions can hold together) is refused when saved: ``substitution_cycle``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Chains longer than this cannot happen once cycles are refused; the cap only guards the
# hot path against a table compiled from rules that were never checked.
MAX_CHAIN = 16


@dataclass(frozen=True, slots=True)
class SubstitutionRuleSpec:
    name: str
    priority: int
    enabled: bool
    sender_pattern: str
    only_unregistered: bool
    replacement: str
    partner: str = ""  # "" = any
    direction: str = ""
    operator: str = ""

    @property
    def is_literal(self) -> bool:
        return not any(c in self.sender_pattern for c in "*?[")

    def matches_sender(self, sender: str) -> bool:
        """Case-insensitive: operators register alphanumeric names regardless of case."""
        if self.is_literal:
            return self.sender_pattern.casefold() == sender.casefold()
        return fnmatch.fnmatchcase(sender.casefold(), self.sender_pattern.casefold())

    def conditions_hold(self, partner: str, direction: str, operator: str) -> bool:
        return (
            (not self.partner or self.partner == partner)
            and (not self.direction or self.direction == direction)
            and (not self.operator or self.operator == operator)
        )


Scope = tuple[str, str, str]  # partner, direction, operator; "" = not pinned yet


def _narrow(scope: Scope, rule: SubstitutionRuleSpec) -> Scope | None:
    """The scope after also requiring ``rule``'s conditions; None if they cannot hold together."""
    out = []
    for have, want in zip(scope, (rule.partner, rule.direction, rule.operator), strict=True):
        if have and want and have != want:
            return None
        out.append(have or want)
    return out[0], out[1], out[2]


def substitution_cycle(rules: Sequence[SubstitutionRuleSpec]) -> list[str] | None:
    """Names of rules through which a sender comes back to a value it had, or None.

    Conservative: ``only_unregistered`` is taken as always true, since registrations change
    without the rules being re-checked."""
    active = sorted((r for r in rules if r.enabled), key=lambda r: (r.priority, r.name))

    def walk(value: str, scope: Scope, seen: list[str], path: list[str]) -> list[str] | None:
        for rule in active:
            if rule.replacement.casefold() == value.casefold() or not rule.matches_sender(value):
                continue
            narrowed = _narrow(scope, rule)
            if narrowed is None:
                continue
            if rule.replacement.casefold() in seen:
                return [*path, rule.name]
            if len(path) >= len(active):
                continue
            found = walk(
                rule.replacement,
                narrowed,
                [*seen, rule.replacement.casefold()],
                [*path, rule.name],
            )
            if found:
                return found
        return None

    for rule in active:
        start = rule.sender_pattern if rule.is_literal else None
        scope = _narrow(("", "", ""), rule)
        assert scope is not None
        seen = [rule.replacement.casefold()]
        if start is not None:
            seen.insert(0, start.casefold())
        found = walk(rule.replacement, scope, seen, [rule.name])
        if found:
            return found
    return None


class Substitutions:
    """Compiled rules: literal patterns by sender, globs in priority order."""

    def __init__(
        self,
        rules: Iterable[SubstitutionRuleSpec],
        registered: Iterable[tuple[str, str]],
    ) -> None:
        """``registered``: (sender name, operator) pairs the name is registered with."""
        ordered = sorted((r for r in rules if r.enabled), key=lambda r: (r.priority, r.name))
        self.rules = ordered
        self._literal: dict[str, list[SubstitutionRuleSpec]] = {}
        self._globs: list[SubstitutionRuleSpec] = []
        for r in ordered:
            if r.is_literal:
                self._literal.setdefault(r.sender_pattern.casefold(), []).append(r)
            else:
                self._globs.append(r)
        self._registered = {(s.casefold(), o) for s, o in registered}

    def __bool__(self) -> bool:
        return bool(self.rules)

    def may_change(self, folded_sender: str) -> bool:
        """Cheap pre-check on the casefolded sender: False means ``apply`` changes nothing."""
        return bool(self._globs) or folded_sender in self._literal

    def is_registered(self, sender: str, operator: str) -> bool:
        return (sender.casefold(), operator) in self._registered

    def _first(
        self, sender: str, partner: str, direction: str, operator: str
    ) -> SubstitutionRuleSpec | None:
        best: SubstitutionRuleSpec | None = None
        candidates = self._literal.get(sender.casefold(), [])
        for r in (*candidates, *self._globs):
            if best is not None and (r.priority, r.name) >= (best.priority, best.name):
                continue
            if (
                r.replacement.casefold() != sender.casefold()
                and r.matches_sender(sender)
                and r.conditions_hold(partner, direction, operator)
                and not (r.only_unregistered and self.is_registered(sender, operator))
            ):
                best = r
        return best

    def apply(
        self, sender: str, partner: str, direction: str, operator: str
    ) -> tuple[str, list[str]]:
        """The sender to use and the names of the rules that changed it, in order."""
        if not self._globs and sender.casefold() not in self._literal:
            return sender, []  # the common case, kept cheap
        used: list[str] = []
        for _ in range(MAX_CHAIN):
            rule = self._first(sender, partner, direction, operator)
            if rule is None:
                break
            used.append(rule.name)
            sender = rule.replacement
        return sender, used

    def why_not(
        self, rule: SubstitutionRuleSpec, sender: str, partner: str, direction: str, operator: str
    ) -> str:
        """For explain: why ``rule`` does not change ``sender``; "" when it does."""
        if not rule.matches_sender(sender):
            return f"sender {sender!r} does not match {rule.sender_pattern!r}"
        if not rule.conditions_hold(partner, direction, operator):
            return "its partner / direction / operator condition does not hold"
        if rule.only_unregistered and self.is_registered(sender, operator):
            return f"{sender!r} is registered with {operator}"
        if rule.replacement.casefold() == sender.casefold():
            return "the sender is already its replacement"
        return ""
