"""SettingsService routing-policy RPCs over real gRPC and PostgreSQL: directions, sender
names, routing and substitution rules, traffic hours, region time zones, white lists."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf import timestamp_pb2

from rcs.common.v1 import channel_pb2
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_core.settings.servicer import SettingsServicer
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.support import start_server

pytestmark = pytest.mark.integration
ADMIN = ss.Actor(login="admin", remote_ip="10.0.0.5")


@pytest.fixture
async def settings(pool: Any) -> AsyncIterator[Any]:
    server = await start_server(
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        )
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    stub = settings_service_pb2_grpc.SettingsServiceStub(channel)
    # What the policy refers to: two interfaces, an operator routed to one, a partner.
    for id_ in ("if-a", "if-b"):
        await stub.PutInterface(
            ss.PutInterfaceRequest(
                actor=ADMIN,
                interface=ss.Interface(
                    id=id_, host="smsc", port=2775, system_id="rcs", password="pw", enabled=True
                ),
            )
        )
    await stub.PutOperator(
        ss.PutOperatorRequest(actor=ADMIN, operator=ss.Operator(name="Op", interface_ids=["if-a"]))
    )
    await stub.CreatePartner(
        ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="acme"), password="pw")
    )
    yield stub
    await channel.close()
    await server.stop(0)


async def fetch(dsn: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(sql, args)
        return await cur.fetchall()


async def scalar(dsn: str, sql: str, *args: Any) -> Any:
    rows = await fetch(dsn, sql, *args)
    return rows[0][0] if rows else None


async def current_revision(dsn: str) -> int:
    return int(await scalar(dsn, "SELECT revision FROM settings_revision"))


async def assert_recorded(dsn: str, revision: int, entity: str, key: str) -> None:
    """The revision names the change and has its audit entry, attributed to ADMIN."""
    changes = await scalar(
        dsn, "SELECT changes FROM settings_revisions WHERE revision = %s", revision
    )
    assert [(c["entity"], c["key"]) for c in changes] == [(entity, key)]
    audit = await fetch(dsn, "SELECT actor, remote_ip FROM audit_log WHERE revision = %s", revision)
    assert audit == [("admin", "10.0.0.5")]


async def refused(call: Any, request: Any, reason: str = "INVALID_REQUEST") -> str:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(request)
    assert error_reason(err.value) == reason, err.value.details()
    return err.value.details() or ""


def direction(name: str, *ranges: tuple[int, int], **fields: Any) -> ss.PutDirectionRequest:
    return ss.PutDirectionRequest(
        actor=ADMIN,
        direction=ss.Direction(
            name=name,
            operator=fields.pop("operator", "Op"),
            ranges=[ss.NumberRange(start=a, end=b) for a, b in ranges],
            **fields,
        ),
    )


def rule(name: str, *targets: str, **fields: Any) -> ss.PutRoutingRuleRequest:
    return ss.PutRoutingRuleRequest(
        actor=ADMIN,
        rule=ss.RoutingRule(
            name=name,
            priority=fields.pop("priority", 10),
            enabled=True,
            targets=[ss.RouteTarget(interface_id=t) for t in targets],
            **fields,
        ),
    )


def substitution(name: str, pattern: str, replacement: str) -> ss.PutSubstitutionRuleRequest:
    return ss.PutSubstitutionRuleRequest(
        actor=ADMIN,
        rule=ss.SubstitutionRule(
            name=name, priority=1, enabled=True, sender_pattern=pattern, replacement=replacement
        ),
    )


# -- directions ---------------------------------------------------------------------------------


async def test_direction_is_versioned_listed_and_replayed(settings: Any, database_url: str) -> None:
    start = await current_revision(database_url)
    request = direction(
        "Moscow", (79250000000, 79259999999), prefixes=["7916", "7903"], region="Moscow"
    )
    request.request_id = "d-1"
    put = await settings.PutDirection(request)
    assert put.revision == start + 1
    assert list(put.direction.prefixes) == ["7903", "7916"]
    assert put.direction.source == "manual"
    await assert_recorded(database_url, put.revision, "direction", "Moscow")

    assert await settings.PutDirection(request) == put  # replay: the first answer
    request.request_id = ""
    assert (await settings.PutDirection(request)).revision == 0  # stored like that already
    assert await current_revision(database_url) == start + 1

    await settings.PutDirection(direction("Altai", (73850000000, 73859999999)))
    await settings.PutOperator(ss.PutOperatorRequest(actor=ADMIN, operator=ss.Operator(name="Op2")))
    await settings.PutDirection(direction("Zeta", operator="Op2", prefixes=["7999"]))
    page = await settings.ListDirections(ss.ListDirectionsRequest(page_size=1, operator="Op"))
    rest = await settings.ListDirections(
        ss.ListDirectionsRequest(page_size=1, operator="Op", page_token=page.next_page_token)
    )
    assert [d.name for d in page.directions] == ["Altai"]
    assert [d.name for d in rest.directions] == ["Moscow"]
    assert rest.next_page_token == ""
    moscow = rest.directions[0]
    assert [(r.start, r.end) for r in moscow.ranges] == [(79250000000, 79259999999)]
    assert (moscow.region, moscow.operator) == ("Moscow", "Op")
    every = await settings.ListDirections(ss.ListDirectionsRequest())
    assert [d.name for d in every.directions] == ["Altai", "Moscow", "Zeta"]


async def test_direction_refuses_unknown_operator_and_taken_numbers(
    settings: Any, database_url: str
) -> None:
    start = await current_revision(database_url)
    message = await refused(settings.PutDirection, direction("X", operator="Nobody"))
    assert "Nobody" in message
    await settings.PutDirection(direction("Moscow", (79250000000, 79259999999), prefixes=["7916"]))
    message = await refused(settings.PutDirection, direction("X", (79259990000, 79270000000)))
    assert "79250000000-79259999999 of 'Moscow'" in message
    message = await refused(settings.PutDirection, direction("X", prefixes=["7916"]))
    assert "7916 (direction 'Moscow')" in message
    await refused(
        settings.PutDirection,
        direction("X", (79300000000, 79309999999), (79305000000, 79400000000)),
    )
    await refused(settings.PutDirection, direction("X", (12, 34)))
    await refused(settings.PutDirection, direction("X", prefixes=["79a"]))
    assert await scalar(database_url, "SELECT count(*) FROM directions") == 1
    assert await current_revision(database_url) == start + 1
    # Replacing its own ranges is no overlap.
    moved = await settings.PutDirection(direction("Moscow", (79250000000, 79255555555)))
    assert moved.revision == start + 2
    assert await scalar(database_url, "SELECT count(*) FROM direction_prefixes") == 0


async def test_concurrent_overlapping_directions_store_only_one(
    settings: Any, database_url: str
) -> None:
    results = await asyncio.gather(
        *(
            settings.PutDirection(direction(f"D{i}", (79250000000 + i, 79259999999)))
            for i in range(4)
        ),
        return_exceptions=True,
    )
    refusals = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert [error_reason(r) for r in refusals] == ["INVALID_REQUEST"] * 3
    assert await scalar(database_url, "SELECT count(*) FROM direction_ranges") == 1


async def test_number_plan_directions_change_only_by_import(
    settings: Any, database_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(
            "INSERT INTO directions (name, operator_id, source, region) SELECT 'Op / Tver', id,"
            " 'number_plan', 'Tver' FROM operators WHERE name = 'Op'"
        )
        await conn.execute(
            "INSERT INTO direction_ranges SELECT 74820000000, 74829999999, id FROM directions"
        )
        await conn.commit()
    message = await refused(settings.PutDirection, direction("Op / Tver", prefixes=["7482"]))
    assert "re-importing the number plan" in message
    message = await refused(
        settings.DeleteDirection, ss.DeleteDirectionRequest(actor=ADMIN, name="Op / Tver")
    )
    assert "re-importing the number plan" in message
    message = await refused(settings.PutDirection, direction("Mine", (74825000000, 74825000000)))
    assert "'Op / Tver'" in message
    listed = await settings.ListDirections(ss.ListDirectionsRequest())
    assert [(d.name, d.source, d.region) for d in listed.directions] == [
        ("Op / Tver", "number_plan", "Tver")
    ]


async def test_a_direction_rules_refer_to_is_not_deleted(settings: Any, database_url: str) -> None:
    await settings.PutDirection(direction("Moscow", prefixes=["7916"]))
    await settings.PutRoutingRule(rule("via-b", "if-b", direction="Moscow"))
    await settings.PutSubstitutionRule(
        ss.PutSubstitutionRuleRequest(
            actor=ADMIN,
            rule=ss.SubstitutionRule(
                name="common", priority=1, replacement="INFO", direction="Moscow"
            ),
        )
    )
    delete = ss.DeleteDirectionRequest(actor=ADMIN, name="Moscow")
    message = await refused(settings.DeleteDirection, delete)
    assert "routing rules via-b and substitution rules common" in message
    await settings.DeleteRoutingRule(ss.DeleteRoutingRuleRequest(actor=ADMIN, name="via-b"))
    await settings.DeleteSubstitutionRule(
        ss.DeleteSubstitutionRuleRequest(actor=ADMIN, name="common")
    )
    deleted = await settings.DeleteDirection(delete)
    await assert_recorded(database_url, deleted.revision, "direction", "Moscow")
    assert await scalar(database_url, "SELECT count(*) FROM direction_prefixes") == 0
    await refused(settings.DeleteDirection, delete, "NOT_FOUND")


async def test_rollback_restores_direction_ranges_and_rule_targets(
    settings: Any, database_url: str
) -> None:
    base = await current_revision(database_url)
    await settings.PutDirection(
        direction(
            "Moscow", (79250000000, 79259999999), (79260000000, 79269999999), prefixes=["7916"]
        )
    )
    request = rule("split", "if-a", "if-b", direction="Moscow")
    request.rule.targets[0].weight = 3
    put = await settings.PutRoutingRule(request)
    assert [(t.interface_id, t.weight) for t in put.rule.targets] == [("if-a", 3), ("if-b", 1)]
    kept = put.revision

    await settings.PutRoutingRule(rule("split", "if-b", direction="Moscow"))
    await settings.PutDirection(direction("Moscow", (79250000000, 79250000001)))
    # The freed range goes to another direction: a rollback takes it back.
    await settings.PutDirection(direction("Other", (79260000000, 79269999999)))

    await settings.RollbackSettings(ss.RollbackSettingsRequest(actor=ADMIN, revision=kept))
    moscow = (await settings.ListDirections(ss.ListDirectionsRequest())).directions
    assert [(d.name, [(r.start, r.end) for r in d.ranges], list(d.prefixes)) for d in moscow] == [
        ("Moscow", [(79250000000, 79259999999), (79260000000, 79269999999)], ["7916"])
    ]
    rules = (await settings.ListRoutingRules(ss.ListRoutingRulesRequest())).rules
    assert [(t.interface_id, t.weight) for t in rules[0].targets] == [("if-a", 3), ("if-b", 1)]

    # Back to before both: the rule goes before the direction it names.
    await settings.RollbackSettings(ss.RollbackSettingsRequest(actor=ADMIN, revision=base))
    assert await scalar(database_url, "SELECT count(*) FROM directions") == 0
    assert await scalar(database_url, "SELECT count(*) FROM routing_rules") == 0
    assert await scalar(database_url, "SELECT count(*) FROM direction_ranges") == 0


# -- sender names -------------------------------------------------------------------------------


async def test_sender_names(settings: Any, database_url: str) -> None:
    request = ss.PutSenderNameRequest(
        actor=ADMIN,
        sender_name=ss.SenderName(name="ACME", traffic_type=1, operators=["Op"], note="bank"),
    )
    put = await settings.PutSenderName(request)
    assert put.revision > 0
    await assert_recorded(database_url, put.revision, "sender_name", "ACME")
    assert (await settings.PutSenderName(request)).revision == 0
    listed = await settings.ListSenderNames(ss.ListSenderNamesRequest())
    assert [(n.name, n.traffic_type, list(n.operators)) for n in listed.sender_names] == [
        ("ACME", 1, ["Op"])
    ]
    bad = [
        ss.SenderName(name="NEW", traffic_type=2, operators=["Nobody"]),
        ss.SenderName(name="NEW", traffic_type=3),
        ss.SenderName(name="", traffic_type=2),
        ss.SenderName(name="X" * 22, traffic_type=2),
    ]
    for sender_name in bad:
        await refused(
            settings.PutSenderName, ss.PutSenderNameRequest(actor=ADMIN, sender_name=sender_name)
        )
    assert await scalar(database_url, "SELECT count(*) FROM sender_names") == 1

    delete = ss.DeleteSenderNameRequest(actor=ADMIN, name="ACME")
    deleted = await settings.DeleteSenderName(delete)
    assert await scalar(database_url, "SELECT count(*) FROM sender_name_operators") == 0
    await refused(settings.DeleteSenderName, delete, "NOT_FOUND")
    await settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=deleted.revision - 1)
    )
    assert await fetch(database_url, "SELECT * FROM sender_name_operators") == [("ACME", "Op")]


# -- routing rules ------------------------------------------------------------------------------


async def test_routing_rule_conditions_are_stored_as_routing_reads_them(
    settings: Any, database_url: str
) -> None:
    request = rule(
        "viber-acme", "if-a", partner="acme", operator="Op", channel=channel_pb2.CHANNEL_VIBER
    )
    request.request_id = "r-1"
    put = await settings.PutRoutingRule(request)
    await assert_recorded(database_url, put.revision, "routing_rule", "viber-acme")
    assert not put.rule.HasField("traffic_type")
    assert put.rule.action == ss.RULE_ACTION_ROUTE
    assert await fetch(
        database_url,
        "SELECT partner, sender, direction, channel, traffic_type, action FROM routing_rules",
    ) == [("acme", None, None, "VIBER", None, "route")]
    assert await settings.PutRoutingRule(request) == put
    request.request_id = ""
    assert (await settings.PutRoutingRule(request)).revision == 0

    advertising = rule("ads", "if-b", channel=channel_pb2.CHANNEL_FLASH_CALL, traffic_type=0)
    put = await settings.PutRoutingRule(advertising)
    assert put.rule.HasField("traffic_type")
    assert put.rule.traffic_type == 0
    assert await fetch(
        database_url, "SELECT channel, traffic_type FROM routing_rules WHERE name = 'ads'"
    ) == [("FLASH_CALL", 0)]
    reject = ss.PutRoutingRuleRequest(
        actor=ADMIN,
        rule=ss.RoutingRule(
            name="no-ads", priority=1, action=ss.RULE_ACTION_REJECT, traffic_type=0
        ),
    )
    assert (await settings.PutRoutingRule(reject)).rule.action == ss.RULE_ACTION_REJECT
    listed = await settings.ListRoutingRules(ss.ListRoutingRulesRequest(page_size=2))
    assert [r.name for r in listed.rules] == ["ads", "no-ads"]
    assert listed.next_page_token


async def test_routing_rules_refuse_dangling_references_and_bad_targets(
    settings: Any, database_url: str
) -> None:
    start = await current_revision(database_url)
    cases = {
        "ghost": rule("r", "if-a", partner="ghost"),
        "Nowhere": rule("r", "if-a", direction="Nowhere"),
        "Nobody": rule("r", "if-a", operator="Nobody"),
        "if-z": rule("r", "if-a", "if-z"),
        "twice": rule("r", "if-a", "if-a"),
        "at least one target": rule("r"),
        "no targets": ss.PutRoutingRuleRequest(
            actor=ADMIN,
            rule=ss.RoutingRule(
                name="r",
                action=ss.RULE_ACTION_REJECT,
                targets=[ss.RouteTarget(interface_id="if-a")],
            ),
        ),
        "one of 0, 1, 2, 5, 6, 7": rule("r", "if-a", traffic_type=3),
        "name": rule("bad name!", "if-a"),
        "priority": rule("r", "if-a", priority=-1),
    }
    for words, request in cases.items():
        assert words in await refused(settings.PutRoutingRule, request), words
    assert await scalar(database_url, "SELECT count(*) FROM routing_rules") == 0
    assert await current_revision(database_url) == start
    await refused(
        settings.DeleteRoutingRule, ss.DeleteRoutingRuleRequest(actor=ADMIN, name="r"), "NOT_FOUND"
    )
    # An interface a rule sends to is not deleted under it.
    await settings.PutRoutingRule(rule("r", "if-b"))
    message = await refused(
        settings.DeleteInterface, ss.DeleteInterfaceRequest(actor=ADMIN, id="if-b")
    )
    assert "routing rule r" in message


# -- substitution rules -------------------------------------------------------------------------


async def test_substitution_rules_refuse_a_cycle(settings: Any, database_url: str) -> None:
    put = await settings.PutSubstitutionRule(substitution("a", "ACME", "INFO"))
    await assert_recorded(database_url, put.revision, "substitution_rule", "a")
    assert put.rule.only_unregistered is False
    assert (await settings.PutSubstitutionRule(substitution("a", "ACME", "INFO"))).revision == 0
    message = await refused(settings.PutSubstitutionRule, substitution("b", "INFO", "ACME"))
    assert "substitution rules would form a cycle: a → b → a" in message
    assert await scalar(database_url, "SELECT count(*) FROM substitution_rules") == 1
    # The new version of a rule replaces its old one in the check.
    await settings.PutSubstitutionRule(substitution("b", "INFO", "NEWS"))
    await settings.PutSubstitutionRule(substitution("b", "INFO", "ACME2"))
    anything = await settings.PutSubstitutionRule(substitution("c", "", "COMMON"))
    assert anything.rule.sender_pattern == "*"
    listed = await settings.ListSubstitutionRules(ss.ListSubstitutionRulesRequest())
    assert [(r.name, r.replacement) for r in listed.rules] == [
        ("a", "INFO"),
        ("b", "ACME2"),
        ("c", "COMMON"),
    ]
    for request in (
        ss.PutSubstitutionRuleRequest(
            actor=ADMIN, rule=ss.SubstitutionRule(name="d", replacement="X", partner="ghost")
        ),
        ss.PutSubstitutionRuleRequest(actor=ADMIN, rule=ss.SubstitutionRule(name="d")),
    ):
        await refused(settings.PutSubstitutionRule, request)
    deleted = await settings.DeleteSubstitutionRule(
        ss.DeleteSubstitutionRuleRequest(actor=ADMIN, name="c")
    )
    await assert_recorded(database_url, deleted.revision, "substitution_rule", "c")
    assert await scalar(database_url, "SELECT count(*) FROM substitution_rules") == 2


# -- traffic hours and time zones ---------------------------------------------------------------


async def test_traffic_policies(settings: Any, database_url: str) -> None:
    listed = await settings.ListTrafficPolicies(ss.ListTrafficPoliciesRequest())
    assert [(p.traffic_type, p.allowed_from, p.allowed_to) for p in listed.policies] == [
        (0, "09:00", "21:00"),
        (7, "09:00", "21:00"),
    ]
    request = ss.PutTrafficPolicyRequest(
        actor=ADMIN,
        policy=ss.TrafficPolicy(
            traffic_type=2,
            allowed_from="22:00",
            allowed_to="06:30",
            outside=ss.OUTSIDE_HOURS_REFUSE,
        ),
    )
    put = await settings.PutTrafficPolicy(request)
    await assert_recorded(database_url, put.revision, "traffic_policy", "2")
    assert (await settings.PutTrafficPolicy(request)).revision == 0
    assert await fetch(
        database_url,
        "SELECT allowed_from::text, allowed_to::text, outside FROM traffic_policies"
        " WHERE traffic_type = 2",
    ) == [("22:00:00", "06:30:00", "refuse")]
    held = await settings.PutTrafficPolicy(
        ss.PutTrafficPolicyRequest(
            actor=ADMIN,
            policy=ss.TrafficPolicy(traffic_type=0, allowed_from="10:00", allowed_to="20:00"),
        )
    )
    assert held.policy.outside == ss.OUTSIDE_HOURS_HOLD
    for bad in (
        ss.TrafficPolicy(traffic_type=2, allowed_from="24:00", allowed_to="06:00"),
        ss.TrafficPolicy(traffic_type=2, allowed_from="9:00", allowed_to="18:00"),
        ss.TrafficPolicy(traffic_type=2, allowed_from="09:00", allowed_to="09:00"),
        ss.TrafficPolicy(traffic_type=4, allowed_from="09:00", allowed_to="18:00"),
    ):
        await refused(settings.PutTrafficPolicy, ss.PutTrafficPolicyRequest(policy=bad))
    deleted = await settings.DeleteTrafficPolicy(
        ss.DeleteTrafficPolicyRequest(actor=ADMIN, traffic_type=7)
    )
    await assert_recorded(database_url, deleted.revision, "traffic_policy", "7")
    await settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=put.revision - 1)
    )
    listed = await settings.ListTrafficPolicies(ss.ListTrafficPoliciesRequest())
    assert [(p.traffic_type, p.allowed_from) for p in listed.policies] == [
        (0, "09:00"),
        (7, "09:00"),
    ]


async def test_region_time_zones(settings: Any, database_url: str) -> None:
    request = ss.PutRegionTimeZoneRequest(
        actor=ADMIN,
        request_id="z-1",
        region_time_zone=ss.RegionTimeZone(region="Novosibirsk", time_zone="Asia/Novosibirsk"),
    )
    put = await settings.PutRegionTimeZone(request)
    await assert_recorded(database_url, put.revision, "region_time_zone", "Novosibirsk")
    assert await settings.PutRegionTimeZone(request) == put
    request.request_id = ""
    assert (await settings.PutRegionTimeZone(request)).revision == 0
    for zone in ("Mars/Olympus", "", "../etc/passwd"):
        await refused(
            settings.PutRegionTimeZone,
            ss.PutRegionTimeZoneRequest(
                region_time_zone=ss.RegionTimeZone(region="Tver", time_zone=zone)
            ),
        )
    listed = await settings.ListRegionTimeZones(ss.ListRegionTimeZonesRequest())
    assert [(z.region, z.time_zone) for z in listed.region_time_zones] == [
        ("", "Europe/Moscow"),
        ("Novosibirsk", "Asia/Novosibirsk"),
    ]
    await settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=put.revision - 1)
    )
    assert await scalar(database_url, "SELECT count(*) FROM region_time_zones") == 1


async def test_tariffs_keep_their_history_and_are_revisions(
    settings: Any, database_url: str
) -> None:
    """The financial report's prices (issue 20): a price from a date on is a row, a later
    date a new row, the same date the same row with its price changed (its id, the DWH's
    key, kept); every change a revision that rolls back."""
    start = timestamp_pb2.Timestamp(seconds=1_796_083_200)  # 2026-12-01 00:00 UTC
    later = timestamp_pb2.Timestamp(seconds=1_796_947_200)  # 2026-12-11
    base = ss.Tariff(partner="acme", channel=channel_pb2.CHANNEL_SMS, price="1.25")
    base.valid_from.CopyFrom(start)
    put = await settings.PutTariff(ss.PutTariffRequest(actor=ADMIN, tariff=base))
    key = "acme||1||2026-12-01T00:00:00.000000+00:00"
    await assert_recorded(database_url, put.revision, "tariff", key)
    assert (put.tariff.price, put.tariff.currency) == ("1.2500", "RUB")
    again = await settings.PutTariff(ss.PutTariffRequest(actor=ADMIN, tariff=base))
    assert again.revision == 0  # nothing changed
    first_id = await scalar(database_url, "SELECT id FROM tariffs")
    base.price = "1.3"
    changed = await settings.PutTariff(ss.PutTariffRequest(actor=ADMIN, tariff=base))
    assert changed.revision > put.revision
    assert await fetch(database_url, "SELECT id, price::text FROM tariffs") == [
        (first_id, "1.3000")
    ]
    rise = ss.Tariff(partner="acme", channel=channel_pb2.CHANNEL_SMS, price="1.5", traffic_type=2)
    rise.valid_from.CopyFrom(later)
    await settings.PutTariff(ss.PutTariffRequest(actor=ADMIN, tariff=rise))
    listed = await settings.ListTariffs(ss.ListTariffsRequest())
    assert [
        (t.price, t.HasField("traffic_type"), t.valid_from.seconds) for t in listed.tariffs
    ] == [
        ("1.3000", False, start.seconds),
        ("1.5000", True, later.seconds),
    ]
    for bad in (
        ss.Tariff(price="-1"),
        ss.Tariff(price="1.23456"),
        ss.Tariff(price="abc"),
        ss.Tariff(price="1", currency="rub"),
        ss.Tariff(price="1", traffic_type=3),
        ss.Tariff(price="1", partner="a|b"),
    ):
        await refused(settings.PutTariff, ss.PutTariffRequest(actor=ADMIN, tariff=bad))
    await refused(
        settings.DeleteTariff, ss.DeleteTariffRequest(actor=ADMIN, tariff=ss.Tariff(partner="acme"))
    )
    deleted = await settings.DeleteTariff(ss.DeleteTariffRequest(actor=ADMIN, tariff=rise))
    await assert_recorded(
        database_url, deleted.revision, "tariff", "acme||1|2|2026-12-11T00:00:00.000000+00:00"
    )
    assert await scalar(database_url, "SELECT count(*) FROM tariffs") == 1
    await settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=put.revision - 1)
    )
    assert await scalar(database_url, "SELECT count(*) FROM tariffs") == 0


# -- white lists --------------------------------------------------------------------------------


async def test_white_lists(settings: Any, database_url: str) -> None:
    add = ss.AddWhitelistEntriesRequest(
        actor=ADMIN,
        request_id="w-1",
        entries=[
            ss.WhitelistEntry(partner="acme", mailing="promo", number="+7 916 000-00-01"),
            ss.WhitelistEntry(partner="acme", mailing="promo", number="79160000002", note="qa"),
        ],
    )
    added = await settings.AddWhitelistEntries(add)
    assert added.added_count == 2
    changes = await scalar(
        database_url, "SELECT changes FROM settings_revisions WHERE revision = %s", added.revision
    )
    assert [c["key"] for c in changes] == ["acme:promo:79160000001", "acme:promo:79160000002"]
    assert await settings.AddWhitelistEntries(add) == added
    add.request_id = ""
    again = await settings.AddWhitelistEntries(add)
    assert (again.added_count, again.revision) == (0, 0)
    listed = await settings.ListWhitelistEntries(
        ss.ListWhitelistEntriesRequest(partner="acme", mailing="promo", page_size=1)
    )
    assert [(e.number, e.note) for e in listed.entries] == [("79160000001", "")]
    assert listed.next_page_token

    for entry, reason in (
        (ss.WhitelistEntry(partner="ghost", mailing="promo", number="79160000003"), "NOT_FOUND"),
        (ss.WhitelistEntry(partner="acme", mailing="bad mailing", number="79160000003"), None),
        (ss.WhitelistEntry(partner="acme", mailing="promo", number="12"), "INVALID_DESTINATION"),
    ):
        await refused(
            settings.AddWhitelistEntries,
            ss.AddWhitelistEntriesRequest(actor=ADMIN, entries=[entry]),
            reason or "INVALID_REQUEST",
        )
    removed = await settings.RemoveWhitelistEntries(
        ss.RemoveWhitelistEntriesRequest(
            actor=ADMIN,
            entries=[ss.WhitelistEntry(partner="acme", mailing="promo", number="79160000001")],
        )
    )
    assert removed.removed_count == 1
    assert await scalar(database_url, "SELECT count(*) FROM whitelist") == 1
    await settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=removed.revision - 1)
    )
    assert await fetch(database_url, "SELECT number FROM whitelist ORDER BY number") == [
        ("79160000001",),
        ("79160000002",),
    ]
    revisions = await settings.ListRevisions(ss.ListRevisionsRequest(page_size=1))
    assert json.loads(revisions.revisions[0].changes_json)[0]["entity"] == "whitelist"
