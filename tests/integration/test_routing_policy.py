"""Rules, sender names, substitution, hours and zones stored in PostgreSQL compile into
the routing table, and ExplainRoute tells the whole decision over gRPC."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
from google.protobuf import timestamp_pb2

from rcs.common.v1 import channel_pb2
from rcs.routing.v1 import routing_service_pb2 as rs
from rcs.routing.v1 import routing_service_pb2_grpc
from rcs_routing.servicer import RoutingServicer, TableHolder
from rcs_runtime.grpc_client import open_channel
from tests.support import seed_demo, start_server

pytestmark = pytest.mark.integration

POLICY_SQL = """
INSERT INTO interfaces (id, host, port, system_id, password) VALUES
    ('bulk-a', '127.0.0.1', 2901, 'a', 'x'), ('bulk-b', '127.0.0.1', 2902, 'b', 'x'),
    ('off', '127.0.0.1', 2903, 'c', 'x');
UPDATE interfaces SET enabled = false WHERE id = 'off';
INSERT INTO directions (name, operator_id, region, source)
    SELECT 'Novosibirsk', id, 'Новосибирская обл.', 'number_plan' FROM operators
    WHERE name = 'Demo Mobile';
INSERT INTO direction_ranges (range_start, range_end, direction_id)
    SELECT 79130000000, 79139999999, id FROM directions WHERE name = 'Novosibirsk';
INSERT INTO sender_names (name, traffic_type) VALUES ('PROMO', 0), ('INFO', 2), ('SPAM', 2);
INSERT INTO sender_name_operators VALUES
    ('INFO', 'Demo Mobile'), ('PROMO', 'Demo Mobile'), ('SPAM', 'Demo Mobile');
INSERT INTO routing_rules (name, priority, partner) VALUES ('demo-split', 10, 'demo');
INSERT INTO routing_rule_targets (rule, position, interface_id, weight) VALUES
    ('demo-split', 1, 'bulk-a', 1), ('demo-split', 2, 'bulk-b', 1), ('demo-split', 3, 'off', 5);
INSERT INTO routing_rules (name, priority, traffic_type, channel) VALUES ('ads', 5, 0, 'SMS');
INSERT INTO routing_rule_targets (rule, position, interface_id) VALUES ('ads', 1, 'bulk-b');
INSERT INTO routing_rules (name, priority, action, sender) VALUES ('no-spam', 1, 'reject', 'SPAM');
INSERT INTO substitution_rules (name, priority, sender_pattern, replacement)
    VALUES ('common-name', 1, '*', 'INFO');
UPDATE settings_revision SET revision = revision + 1;
"""


@pytest.fixture
async def routing(pool: Any, database_url: str) -> Any:
    await seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=2776)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(POLICY_SQL)
        await conn.commit()
    holder = TableHolder(pool)
    await holder.load()
    server = await start_server(
        lambda s: routing_service_pb2_grpc.add_RoutingServiceServicer_to_server(
            RoutingServicer(holder), s
        )
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    yield routing_service_pb2_grpc.RoutingServiceStub(channel)
    await channel.close()
    await server.stop(0)


def _at(when: dt.datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(when)
    return ts


# 2026-11-26 17:30 UTC: 20:30 in Moscow, 00:30 the next day in Novosibirsk.
EVENING = dt.datetime(2026, 11, 26, 17, 30, tzinfo=dt.UTC)


async def test_stored_policy_decides_routes(routing: Any) -> None:
    def q(number: str, sender: str, partner: str = "", **kw: Any) -> rs.RouteQuery:
        return rs.RouteQuery(
            destination=number,
            sender=sender,
            partner=partner,
            channel=channel_pb2.CHANNEL_SMS,
            at=_at(EVENING),
            **kw,
        )

    answer = await routing.ResolveRoutes(
        rs.ResolveRoutesRequest(
            queries=[
                q("79161234567", "INFO", "demo"),
                q("79161234567", "NONAME"),
                q("79161234567", "SPAM"),
                q("79161234567", "PROMO"),
                q("79131234567", "PROMO"),
                q("79131234567", "PROMO", traffic_type=1),
            ]
        )
    )
    demo, renamed, spam, promo_msk, promo_nsk, promo_transactional = answer.routes
    # Personal rule by partner; the disabled interface is dropped; the other is a fallback.
    assert demo.rule == "demo-split"
    assert {demo.interface_id, *demo.fallback_interface_ids} == {"bulk-a", "bulk-b"}
    # No rule: the operator's own interface; the unregistered sender becomes INFO.
    assert (renamed.rule, renamed.interface_id, renamed.sender) == ("", "smsc-sim", "INFO")
    # SPAM is registered (kept by substitution) and a reject rule refuses it as unrouted.
    assert (spam.found, spam.error_code, spam.rule) == (False, 11, "no-spam")
    # PROMO is registered as advertising: the ads rule; allowed in Moscow at 20:30 ...
    assert (promo_msk.rule, promo_msk.traffic_type, promo_msk.policy) == (
        "ads",
        0,
        rs.POLICY_OUTCOME_ALLOW,
    )
    # ... held in Novosibirsk (00:30) until 09:00 local = 02:00 UTC.
    assert promo_nsk.policy == rs.POLICY_OUTCOME_HOLD
    assert promo_nsk.hold_until.ToDatetime(dt.UTC) == dt.datetime(2026, 11, 27, 2, tzinfo=dt.UTC)
    # The message's own traffic type wins over the sender name's.
    assert (promo_transactional.traffic_type, promo_transactional.policy) == (
        1,
        rs.POLICY_OUTCOME_ALLOW,
    )


async def test_explain_over_grpc_names_the_winner_and_the_losers(routing: Any) -> None:
    answer = await routing.ExplainRoute(
        rs.ExplainRouteRequest(
            query=rs.RouteQuery(
                destination="79131234567",
                sender="PROMO",
                partner="demo",
                channel=channel_pb2.CHANNEL_SMS,
                at=_at(EVENING),
            )
        )
    )
    verdicts = {v.name: v.verdict for v in answer.rules}
    assert answer.rules[0].name == "ads"
    assert verdicts == {
        "ads": rs.RULE_VERDICT_KIND_CHOSEN,
        "demo-split": rs.RULE_VERDICT_KIND_OUTRANKED,
        "no-spam": rs.RULE_VERDICT_KIND_NOT_MATCHING,
    }
    assert [v.name for v in answer.substitutions] == ["common-name"]
    assert answer.substitutions[0].verdict == rs.RULE_VERDICT_KIND_NOT_MATCHING  # registered
    assert answer.route.policy == rs.POLICY_OUTCOME_HOLD
    assert any("Asia/Novosibirsk" in step for step in answer.steps)
