"""Routing rules, substitution and traffic hours in the compiled table (no I/O)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from rcs_routing.rules import Picker, Rule, Target
from rcs_routing.substitution import SubstitutionRuleSpec, Substitutions, substitution_cycle
from rcs_routing.table import (
    CHOSEN,
    DISABLED,
    NOT_MATCHING,
    OUTRANKED,
    POLICY_ALLOW,
    POLICY_HOLD,
    POLICY_REFUSE,
    Direction,
    PartnerWindow,
    Policy,
    RoutingTable,
)
from rcs_routing.traffic_hours import HoursPolicy

MSK = Direction("Moscow", "MegaOp", "г. Москва и Московская область")
NSK = Direction("Novosibirsk", "MegaOp", "Новосибирская обл.")
TUNDRA = Direction("Tundra north", "Tundra")
SMS, VIBER = 1, 3
IFACES = frozenset({"mega-1", "mega-2", "bulk-1", "bulk-2", "vip-1", "off-1"})


def table(
    rules: tuple[Rule, ...] = (),
    subs: tuple[SubstitutionRuleSpec, ...] = (),
    registered: tuple[tuple[str, str], ...] = (),
    **policy: object,
) -> RoutingTable:
    return RoutingTable(
        revision=7,
        prefixes=[("7916", MSK), ("7913", NSK), ("7900", TUNDRA)],
        ranges=[],
        interfaces_by_operator={"MegaOp": ["mega-1", "mega-2"], "Tundra": []},
        policy=Policy(
            rules=rules,
            substitutions=Substitutions(subs, registered),
            enabled_interfaces=IFACES - {"off-1"},
            **policy,  # type: ignore[arg-type]
        ),
    )


def test_without_rules_the_operator_interfaces_route_with_failover() -> None:
    d = table().resolve("79161234567", "S")
    assert (d.found, d.interface_id, d.fallbacks, d.rule) == (True, "mega-1", ("mega-2",), "")


def test_general_rule_beats_the_operator_default() -> None:
    general = Rule("all-bulk", 100, targets=(Target("bulk-1"),))
    d = table((general,)).resolve("79161234567", "S")
    assert (d.interface_id, d.rule) == ("bulk-1", "all-bulk")


@pytest.mark.parametrize(
    ("field", "value", "query"),
    [
        ("partner", "acme", {"partner": "acme"}),
        ("sender", "SHOP", {}),
        ("direction", "Moscow", {}),
        ("operator", "MegaOp", {}),
        ("channel", SMS, {"channel": SMS}),
        ("traffic_type", 2, {"traffic_type": 2}),
    ],
)
def test_each_personal_condition_selects_its_rule(
    field: str, value: object, query: dict[str, object]
) -> None:
    personal = Rule("vip", 100, targets=(Target("vip-1"),), **{field: value})  # type: ignore[arg-type]
    general = Rule("bulk", 100, targets=(Target("bulk-1"),))
    t = table((general, personal))
    # Equal priority: the personal rule is more specific.
    assert t.resolve("79161234567", "SHOP", **query).rule == "vip"  # type: ignore[arg-type]
    other = {
        "partner": {"partner": "other"},
        "sender": {},
        "direction": {},
        "operator": {},
        "channel": {"channel": VIBER},
        "traffic_type": {"traffic_type": 0},
    }[field]
    number, sender = {
        "sender": ("79161234567", "OTHER"),
        "direction": ("79131234567", "SHOP"),
        "operator": ("79001234567", "SHOP"),
    }.get(field, ("79161234567", "SHOP"))
    assert t.resolve(number, sender, **other).rule == "bulk"  # type: ignore[arg-type]


def test_lower_priority_number_wins_over_specificity() -> None:
    general = Rule("first", 1, targets=(Target("bulk-1"),))
    personal = Rule("later", 50, partner="acme", targets=(Target("vip-1"),))
    d = table((general, personal)).resolve("79161234567", "S", partner="acme", explain=True)
    assert d.rule == "first"
    verdicts = {v.name: v.kind for v in d.rules}
    assert verdicts == {"first": CHOSEN, "later": OUTRANKED}
    assert d.rules[0].name == "first"


def test_explain_lists_losing_and_disabled_rules_with_reasons() -> None:
    rules = (
        Rule("vip", 10, partner="acme", targets=(Target("vip-1"),)),
        Rule("viber-only", 5, channel=VIBER, targets=(Target("bulk-2"),)),
        Rule("off", 1, enabled=False, targets=(Target("bulk-1"),)),
        Rule("dead", 2, targets=(Target("off-1"),)),
    )
    d = table(rules).resolve("79161234567", "S", partner="acme", channel=SMS, explain=True)
    by_name = {v.name: v for v in d.rules}
    assert by_name["vip"].kind == CHOSEN
    assert by_name["viber-only"].kind == NOT_MATCHING
    assert "channel" in by_name["viber-only"].reason
    assert by_name["off"].kind == DISABLED
    assert by_name["dead"].kind == NOT_MATCHING
    assert "enabled" in by_name["dead"].reason
    assert any("rule vip" in s for s in d.steps)


def test_reject_rule_refuses_as_unrouted() -> None:
    d = table((Rule("no-tundra", 1, action="reject", operator="Tundra"),)).resolve(
        "79001234567", "S"
    )
    assert (d.found, d.error_code, d.rule) == (False, 11, "no-tundra")


def test_no_rule_and_no_interface_is_unrouted() -> None:
    d = table().resolve("79001234567", "S", explain=True)
    assert (d.found, d.error_code) == (False, 11)
    assert "no enabled interface" in d.steps[-1]


def test_weights_split_traffic_and_the_rest_are_fallbacks() -> None:
    rule = Rule("split", 1, targets=(Target("bulk-1", 3), Target("bulk-2", 1)))
    t = table((rule,))
    picks = Counter(t.resolve("79161234567", "S").interface_id for _ in range(4000))
    assert 0.70 < picks["bulk-1"] / 4000 < 0.80
    d = t.resolve("79161234567", "S")
    assert set((d.interface_id, *d.fallbacks)) == {"bulk-1", "bulk-2"}


def test_picker_orders_fallbacks_by_weight() -> None:
    p = Picker.of([Target("a", 1), Target("b", 5), Target("c", 2)])
    assert p.pick(lambda: 0.0) == ("b", ("c", "a"))
    assert p.pick(lambda: 0.99) == ("a", ("b", "c"))


def test_disabled_targets_are_dropped_and_an_all_disabled_rule_is_skipped() -> None:
    rules = (
        Rule("half", 1, targets=(Target("off-1", 100), Target("bulk-1", 1))),
        Rule("all-off", 0, partner="acme", targets=(Target("off-1"),)),
    )
    d = table(rules).resolve("79161234567", "S", partner="acme")
    assert (d.rule, d.interface_id, d.fallbacks) == ("half", "bulk-1", ())


# -- substitution -----------------------------------------------------------------------------


def spec(name: str, pattern: str, replacement: str, **kw: object) -> SubstitutionRuleSpec:
    args: dict[str, object] = {"priority": 10, "enabled": True, "only_unregistered": True}
    args.update(kw)
    return SubstitutionRuleSpec(
        name=name,
        sender_pattern=pattern,
        replacement=replacement,
        **args,  # type: ignore[arg-type]
    )


def test_unregistered_name_is_replaced_by_the_registered_common_name() -> None:
    subs = (spec("common", "*", "INFO", operator="MegaOp"),)
    registered = (("SHOP", "MegaOp"), ("INFO", "MegaOp"))
    t = table(subs=subs, registered=registered)
    assert t.resolve("79161234567", "SHOP").sender == "SHOP"  # registered: kept
    d = t.resolve("79161234567", "NEWSHOP", explain=True)
    assert d.sender == "INFO"
    assert d.substitutions[0].kind == CHOSEN
    assert t.resolve("79001234567", "NEWSHOP").sender == "NEWSHOP"  # other operator


def test_substitution_chains_and_feeds_the_sender_condition_of_rules() -> None:
    subs = (spec("old", "OLDNAME", "NEWNAME", only_unregistered=False, partner="acme"),)
    rules = (Rule("new-name", 1, sender="newname", targets=(Target("vip-1"),)),)
    t = table(rules, subs)
    d = t.resolve("79161234567", "OldName", partner="acme")
    assert (d.sender, d.rule) == ("NEWNAME", "new-name")
    assert t.resolve("79161234567", "OLDNAME", partner="other").sender == "OLDNAME"
    chained = Substitutions(
        [
            spec("a", "A", "B", only_unregistered=False),
            spec("b", "B", "C", only_unregistered=False),
        ],
        [],
    )
    assert chained.apply("A", "", "", "") == ("C", ["a", "b"])


def test_substitution_cycles_are_found() -> None:
    a_b = spec("a-b", "A", "B")
    b_a = spec("b-a", "B", "A")
    assert substitution_cycle([a_b, b_a]) == ["a-b", "b-a"]
    # Through a glob: everything → X, X → Y, and Y (matching *) → X again.
    assert substitution_cycle([spec("all", "*", "X"), spec("x-y", "X", "Y")]) is not None
    # Conditions that cannot hold together break the chain.
    assert (
        substitution_cycle(
            [spec("a-b", "A", "B", partner="p1"), spec("b-a", "B", "A", partner="p2")]
        )
        is None
    )
    # A catch-all to one name and a rename are fine.
    assert substitution_cycle([spec("all", "*", "COMMON"), spec("rename", "OLD", "NEW")]) is None
    assert substitution_cycle([a_b, spec("b-a", "B", "A", enabled=False)]) is None


# -- traffic types and hours ------------------------------------------------------------------

ADS = {0: HoursPolicy(dt.time(9), dt.time(21))}
# 2026-11-26 17:30 UTC is 20:30 in Moscow (UTC+3) and 00:30 next day in Novosibirsk (UTC+7).
EVENING = dt.datetime(2026, 11, 26, 17, 30, tzinfo=dt.UTC)


def test_advertising_is_held_until_the_subscriber_local_morning() -> None:
    t = table(hours=ADS, region_zones={"": "Europe/Moscow"})
    moscow = t.resolve("79161234567", "S", traffic_type=0, now=EVENING)
    assert (moscow.found, moscow.policy) == (True, POLICY_ALLOW)
    nsk = t.resolve("79131234567", "S", traffic_type=0, now=EVENING, explain=True)
    assert nsk.policy == POLICY_HOLD
    # 09:00 in Novosibirsk on the 27th is 02:00 UTC.
    assert nsk.hold_until == dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
    assert any("Asia/Novosibirsk" in s for s in nsk.steps)
    service = t.resolve("79131234567", "S", traffic_type=2, now=EVENING)
    assert service.policy == POLICY_ALLOW


def test_partner_window_in_the_subscribers_zone_holds_until_it_opens_there() -> None:
    """useTimeDiff / v5 sending_time without time_zone: 10:00-20:00 of the subscriber's day.
    At 20:30 Moscow time a Moscow number is past the window, a Novosibirsk one (00:30) not
    yet in it; both wait for 10:00 of their own next day."""
    t = table(region_zones={"": "Europe/Moscow"})
    local = PartnerWindow(600, 1200, frozenset(), None)
    moscow = t.resolve("79161234567", "S", now=EVENING, window=local)
    assert (moscow.found, moscow.policy, moscow.held_by_window) == (True, POLICY_HOLD, True)
    assert moscow.hold_until == dt.datetime(2026, 11, 27, 7, 0, tzinfo=dt.UTC)
    nsk = t.resolve("79131234567", "S", now=EVENING, window=local)
    assert nsk.hold_until == dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.UTC)
    inside = t.resolve("79131234567", "S", now=EVENING.replace(hour=5), window=local)
    assert (inside.policy, inside.hold_until) == (POLICY_ALLOW, None)


def test_partner_window_in_a_fixed_zone_with_weekdays() -> None:
    """Moscow 18:00-21:00 on weekdays: Thursday 20:30 is inside; Friday 21:00 onwards waits
    for Monday 18:00 (2026-11-30 15:00 UTC)."""
    t = table()
    weekdays = PartnerWindow(1080, 1260, frozenset(range(1, 6)), 180)
    assert t.resolve("79131234567", "S", now=EVENING, window=weekdays).policy == POLICY_ALLOW
    friday_late = dt.datetime(2026, 11, 27, 18, 0, tzinfo=dt.UTC)
    d = t.resolve("79131234567", "S", now=friday_late, window=weekdays)
    assert (d.policy, d.hold_until) == (POLICY_HOLD, dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC))


def test_the_later_of_hours_policy_and_partner_window_wins() -> None:
    t = table(hours=ADS, region_zones={"": "Europe/Moscow"})
    # Advertising opens at 09:00 Novosibirsk (02:00 UTC); the partner's window at 12:00.
    late = PartnerWindow(720, 1200, frozenset(), None)
    d = t.resolve("79131234567", "S", traffic_type=0, now=EVENING, window=late)
    assert (d.policy, d.hold_until) == (POLICY_HOLD, dt.datetime(2026, 11, 27, 5, tzinfo=dt.UTC))
    assert d.held_by_window
    # A window that opens before the hours do: the hours hold it.
    early = PartnerWindow(60, 1200, frozenset(), None)
    d = t.resolve("79131234567", "S", traffic_type=0, now=EVENING, window=early)
    assert (d.policy, d.hold_until) == (POLICY_HOLD, dt.datetime(2026, 11, 27, 2, tzinfo=dt.UTC))
    assert not d.held_by_window
    explained = t.resolve(
        "79131234567", "S", traffic_type=0, now=EVENING, window=late, explain=True
    )
    assert (
        "outside the partner's sending window: held until 2026-11-27 05:00 UTC" in explained.steps
    )
    refusing = table(hours={0: HoursPolicy(dt.time(9), dt.time(21), refuse=True)})
    d = refusing.resolve("79131234567", "S", traffic_type=0, now=EVENING, window=late)
    assert d.policy == POLICY_REFUSE  # a refusal is not turned into a hold


def test_refusing_policy_filters_outside_hours() -> None:
    t = table(hours={0: HoursPolicy(dt.time(9), dt.time(21), refuse=True)})
    d = t.resolve("79131234567", "S", traffic_type=0, now=EVENING)
    assert (d.found, d.policy, d.error_code) == (False, POLICY_REFUSE, 10)


def test_configured_region_zone_and_default_zone() -> None:
    t = table(
        hours=ADS, region_zones={"": "Asia/Vladivostok", "Новосибирская обл.": "Europe/Moscow"}
    )
    assert t.resolve("79131234567", "S", traffic_type=0, now=EVENING).policy == POLICY_ALLOW
    # Tundra's direction has no region: the default zone, where it is 03:30.
    assert t.zone_of(TUNDRA).key == "Asia/Vladivostok"


def test_sender_name_registration_gives_the_traffic_type_and_selects_rules() -> None:
    rules = (Rule("ads-route", 1, traffic_type=0, targets=(Target("bulk-2"),)),)
    t = table(rules, sender_types={"promo": 0}, hours=ADS)
    d = t.resolve("79161234567", "PROMO", now=EVENING)
    assert (d.traffic_type, d.rule, d.interface_id) == (0, "ads-route", "bulk-2")
    d = t.resolve("79161234567", "PROMO", traffic_type=1, now=EVENING)
    assert (d.traffic_type, d.rule) == (1, "")


def test_hours_window_spanning_midnight() -> None:
    night = HoursPolicy(dt.time(22), dt.time(6))
    zone = table().zone_of(MSK)
    assert night.next_allowed(dt.datetime(2026, 1, 1, 20, 0, tzinfo=dt.UTC), zone) is None  # 23:00
    opens = night.next_allowed(dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC), zone)  # 12:00
    assert opens == dt.datetime(2026, 1, 1, 19, 0, tzinfo=dt.UTC)
