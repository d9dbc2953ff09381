"""Each settings entity's SQL: read one row's typed state by key, write (or remove) it, and
the entity's spec (rcs_core.settings.spec) that the generic writes, restore and sync use."""

from __future__ import annotations

from collections.abc import Mapping

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.settings import credentials
from rcs_core.settings import validate as v
from rcs_core.settings.messenger_interfaces import MESSENGER_INTERFACE
from rcs_core.settings.partner_channels import PARTNER_CHANNEL
from rcs_core.settings.spec import Conn, EntitySpec, Spec
from rcs_core.settings.states import (
    BlacklistState,
    DirectionState,
    InboundRouteState,
    InterfaceState,
    OperatorState,
    PartnerState,
    RegionTimeZoneState,
    RoutingRuleState,
    SenderNameState,
    SubstitutionRuleState,
    TariffState,
    TrafficPolicyState,
    VerificationPolicyState,
    WhitelistState,
)
from rcs_runtime.errors import RcsError, Reason

_PARTNER_FIELDS = tuple(PartnerState.__annotations__)  # the columns, in the state's order
# What a partner state stored before a field existed restores to ("any address", no URL,
# no session limit).
_PARTNER_DEFAULTS: dict[str, object] = {
    "allowed_subnets": [],
    "report_url": "",
    "inbound_url": "",
    "max_smpp_sessions": 0,
    "senders": [],
    "smpp_password_hash": None,
    "smpp_standard_tlvs_only": False,
    "service_type": "SMS",
}


async def partner_state(conn: Conn, login: str) -> PartnerState | None:
    cur = await conn.execute(
        "SELECT login, password_hash, default_sender, default_ttl_seconds, block_duplicates,"
        " duplicate_window_seconds, allowed_subnets::text[], report_url, inbound_url,"
        " max_smpp_sessions, senders, smpp_password_hash, smpp_standard_tlvs_only, service_type"
        " FROM partners WHERE login = %s",
        (login,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return PartnerState(
        login=row[0],
        password_hash=row[1],
        default_sender=row[2],
        default_ttl_seconds=row[3],
        block_duplicates=row[4],
        duplicate_window_seconds=row[5],
        allowed_subnets=list(row[6]),
        report_url=row[7],
        inbound_url=row[8],
        max_smpp_sessions=row[9],
        senders=list(row[10]),
        smpp_password_hash=row[11],
        smpp_standard_tlvs_only=row[12],
        service_type=row[13],
    )


async def put_partner(conn: Conn, login: str, state: PartnerState | None) -> None:
    if state is None:
        await conn.execute("DELETE FROM partners WHERE login = %s", (login,))
        return
    values: dict[str, object] = {**_PARTNER_DEFAULTS, **state}
    await conn.execute(
        "INSERT INTO partners (login, password_hash, default_sender, default_ttl_seconds,"
        " block_duplicates, duplicate_window_seconds, allowed_subnets, report_url, inbound_url,"
        " max_smpp_sessions, senders, smpp_password_hash, smpp_standard_tlvs_only, service_type)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s::cidr[], %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (login) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
        " default_sender = EXCLUDED.default_sender,"
        " default_ttl_seconds = EXCLUDED.default_ttl_seconds,"
        " block_duplicates = EXCLUDED.block_duplicates,"
        " duplicate_window_seconds = EXCLUDED.duplicate_window_seconds,"
        " allowed_subnets = EXCLUDED.allowed_subnets, report_url = EXCLUDED.report_url,"
        " inbound_url = EXCLUDED.inbound_url, max_smpp_sessions = EXCLUDED.max_smpp_sessions,"
        " senders = EXCLUDED.senders, smpp_password_hash = EXCLUDED.smpp_password_hash,"
        " smpp_standard_tlvs_only = EXCLUDED.smpp_standard_tlvs_only,"
        " service_type = EXCLUDED.service_type",
        tuple(values[f] for f in _PARTNER_FIELDS),
    )


async def blacklist_state(conn: Conn, partner: str, number: str) -> BlacklistState | None:
    cur = await conn.execute(
        "SELECT b.note, b.keep_in_mailings FROM blacklist b"
        " LEFT JOIN partners p ON p.id = b.partner_id"
        " WHERE b.number = %s AND coalesce(p.login, '') = %s",
        (number, partner),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {"partner": partner, "number": number, "note": row[0], "keep_in_mailings": row[1]}


async def put_blacklist(conn: Conn, key: str, state: BlacklistState | None) -> None:
    partner, _, number = key.rpartition(":")
    if state is None:
        await conn.execute(
            "DELETE FROM blacklist b USING (SELECT NULLIF(%s, '') AS login) AS t"
            " WHERE b.number = %s AND b.partner_id IS NOT DISTINCT FROM"
            " (SELECT id FROM partners WHERE login = t.login)",
            (partner, number),
        )
        return
    await conn.execute(
        "INSERT INTO blacklist (partner_id, number, note, keep_in_mailings)"
        " VALUES ((SELECT id FROM partners WHERE login = NULLIF(%s, '')), %s, %s, %s)"
        " ON CONFLICT (coalesce(partner_id, 0), number) DO UPDATE SET note = EXCLUDED.note,"
        " keep_in_mailings = EXCLUDED.keep_in_mailings",
        (partner, number, state["note"], state.get("keep_in_mailings", False)),
    )


async def operator_state(conn: Conn, name: str) -> OperatorState | None:
    cur = await conn.execute(
        "SELECT o.name, o.mcc, o.mnc, coalesce(array_agg(r.interface_id ORDER BY r.priority,"
        " r.interface_id) FILTER (WHERE r.interface_id IS NOT NULL), '{}')"
        " FROM operators o LEFT JOIN operator_routes r ON r.operator_id = o.id"
        " WHERE o.name = %s GROUP BY o.id",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {"name": row[0], "mcc": row[1], "mnc": row[2], "interface_ids": list(row[3])}


async def put_operator(conn: Conn, name: str, state: OperatorState | None) -> None:
    if state is None:
        await conn.execute("DELETE FROM operators WHERE name = %s", (name,))
        return
    cur = await conn.execute(
        "INSERT INTO operators (name, mcc, mnc) VALUES (%s, %s, %s) ON CONFLICT (name)"
        " DO UPDATE SET mcc = EXCLUDED.mcc, mnc = EXCLUDED.mnc RETURNING id",
        (name, state["mcc"], state["mnc"]),
    )
    row = await cur.fetchone()
    assert row is not None
    await conn.execute("DELETE FROM operator_routes WHERE operator_id = %s", (row[0],))
    await conn.execute(
        "INSERT INTO operator_routes (operator_id, interface_id, priority)"
        " SELECT %s, i, n FROM unnest(%s::text[]) WITH ORDINALITY AS t(i, n)",
        (row[0], state["interface_ids"]),
    )


_INTERFACE_FIELDS = tuple(InterfaceState.__annotations__)  # the columns, in the state's order


async def interface_state(conn: Conn, interface_id: str) -> InterfaceState | None:
    cur = await conn.execute(
        f"SELECT {', '.join(_INTERFACE_FIELDS)} FROM interfaces WHERE id = %s",  # noqa: S608
        (interface_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return InterfaceState(
        id=row[0],
        host=row[1],
        port=row[2],
        system_id=row[3],
        password=row[4],
        system_type=row[5],
        window_size=row[6],
        throughput_per_second=row[7],
        enabled=row[8],
    )


async def put_interface(conn: Conn, interface_id: str, state: InterfaceState | None) -> None:
    if state is None:
        await conn.execute("DELETE FROM interfaces WHERE id = %s", (interface_id,))
        return
    await conn.execute(
        "INSERT INTO interfaces (id, host, port, system_id, password, system_type, window_size,"
        " throughput_per_second, enabled) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, port = EXCLUDED.port,"
        " system_id = EXCLUDED.system_id, password = EXCLUDED.password,"
        " system_type = EXCLUDED.system_type, window_size = EXCLUDED.window_size,"
        " throughput_per_second = EXCLUDED.throughput_per_second, enabled = EXCLUDED.enabled",
        (
            state["id"],
            state["host"],
            state["port"],
            state["system_id"],
            state["password"],
            state["system_type"],
            state["window_size"],
            state["throughput_per_second"],
            state["enabled"],
        ),
    )


async def policy_state(conn: Conn, _key: str = "installation") -> VerificationPolicyState | None:
    cur = await conn.execute(
        "SELECT inactive_threshold, extract(epoch FROM inactive_window)::bigint,"
        " extract(epoch FROM inactive_ttl)::bigint, inactive_codes FROM verification_policy"
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {
        "inactive_threshold": row[0],
        "inactive_window_seconds": row[1],
        "inactive_ttl_seconds": row[2],
        "inactive_codes": list(row[3]),
    }


async def put_policy(conn: Conn, _key: str, state: VerificationPolicyState | None) -> None:
    if state is None:
        return  # the policy row always exists
    await conn.execute(
        "UPDATE verification_policy SET inactive_threshold = %s,"
        " inactive_window = make_interval(secs => %s), inactive_ttl = make_interval(secs => %s),"
        " inactive_codes = %s",
        (
            state["inactive_threshold"],
            state["inactive_window_seconds"],
            state["inactive_ttl_seconds"],
            state["inactive_codes"],
        ),
    )


# -- routing policy (migration 0007) and hand-made directions ---------------------------------


async def direction_state(conn: Conn, name: str) -> DirectionState | None:
    """A direction with its prefixes and ranges ([start, end] pairs), both sorted."""
    cur = await conn.execute(
        "SELECT d.name, o.name, d.region, d.source,"
        " coalesce((SELECT array_agg(p.prefix ORDER BY p.prefix) FROM direction_prefixes p"
        " WHERE p.direction_id = d.id), '{}'),"
        " coalesce((SELECT array_agg(ARRAY[r.range_start, r.range_end] ORDER BY r.range_start)"
        " FROM direction_ranges r WHERE r.direction_id = d.id), '{}')"
        " FROM directions d JOIN operators o ON o.id = d.operator_id WHERE d.name = %s",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {
        "name": row[0],
        "operator": row[1],
        "region": row[2],
        "source": row[3],
        "prefixes": list(row[4]),
        "ranges": [[int(a), int(b)] for a, b in row[5]],
    }


async def put_direction(conn: Conn, name: str, state: DirectionState | None) -> None:
    """Only hand-made directions are written: plan ones change by importing the plan."""
    if state is None:
        await conn.execute(
            "DELETE FROM directions WHERE name = %s AND source = 'manual'", (name,)
        )  # prefixes and ranges go with it (ON DELETE CASCADE)
        return
    cur = await conn.execute(
        "INSERT INTO directions (name, operator_id, region, source)"
        " VALUES (%s, (SELECT id FROM operators WHERE name = %s), %s, 'manual')"
        " ON CONFLICT (name) DO UPDATE SET operator_id = EXCLUDED.operator_id,"
        " region = EXCLUDED.region WHERE directions.source = 'manual' RETURNING id",
        (name, state["operator"], state["region"]),
    )
    row = await cur.fetchone()
    if row is None:  # the plan took the name since (a rollback to before that)
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"direction {name!r} is a number-plan direction now: change it by re-importing"
            " the number plan",
        )
    await conn.execute("DELETE FROM direction_prefixes WHERE direction_id = %s", (row[0],))
    await conn.execute("DELETE FROM direction_ranges WHERE direction_id = %s", (row[0],))
    # PutDirection has refused prefixes and ranges of other directions already; a rollback
    # may put a prefix back before restoring the direction that holds it now (same rank),
    # and that one is restored in the same step, so here the row just moves.
    await conn.execute(
        "INSERT INTO direction_prefixes (prefix, direction_id) SELECT p, %s FROM unnest(%s::text[])"
        " AS t(p) ON CONFLICT (prefix) DO UPDATE SET direction_id = EXCLUDED.direction_id",
        (row[0], state["prefixes"]),
    )
    await conn.execute(
        "INSERT INTO direction_ranges (range_start, range_end, direction_id)"
        " SELECT a, b, %s FROM unnest(%s::bigint[], %s::bigint[]) AS t(a, b)"
        " ON CONFLICT (range_start, range_end) DO UPDATE SET direction_id = EXCLUDED.direction_id",
        (row[0], [r[0] for r in state["ranges"]], [r[1] for r in state["ranges"]]),
    )


async def sender_name_state(conn: Conn, name: str) -> SenderNameState | None:
    cur = await conn.execute(
        "SELECT s.name, s.traffic_type, s.note, coalesce(array_agg(o.operator ORDER BY"
        " o.operator) FILTER (WHERE o.operator IS NOT NULL), '{}') FROM sender_names s"
        " LEFT JOIN sender_name_operators o ON o.sender_name = s.name"
        " WHERE s.name = %s GROUP BY s.name",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {"name": row[0], "traffic_type": row[1], "operators": list(row[3]), "note": row[2]}


async def put_sender_name(conn: Conn, name: str, state: SenderNameState | None) -> None:
    if state is None:
        await conn.execute("DELETE FROM sender_names WHERE name = %s", (name,))
        return
    await conn.execute(
        "INSERT INTO sender_names (name, traffic_type, note) VALUES (%s, %s, %s)"
        " ON CONFLICT (name) DO UPDATE SET traffic_type = EXCLUDED.traffic_type,"
        " note = EXCLUDED.note",
        (name, state["traffic_type"], state["note"]),
    )
    await conn.execute("DELETE FROM sender_name_operators WHERE sender_name = %s", (name,))
    await conn.execute(
        "INSERT INTO sender_name_operators (sender_name, operator)"
        " SELECT %s, o FROM unnest(%s::text[]) AS t(o)",
        (name, state["operators"]),
    )


async def routing_rule_state(conn: Conn, name: str) -> RoutingRuleState | None:
    cur = await conn.execute(
        "SELECT name, priority, enabled, action, coalesce(partner, ''), coalesce(sender, ''),"
        " coalesce(direction, ''), coalesce(operator, ''), coalesce(channel, ''), traffic_type,"
        " note FROM routing_rules WHERE name = %s",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    cur = await conn.execute(
        "SELECT interface_id, weight FROM routing_rule_targets WHERE rule = %s ORDER BY position",
        (name,),
    )
    targets = await cur.fetchall()
    # Condition columns: NULL in the table ("any") is "" in the state, as in the API.
    return RoutingRuleState(
        name=row[0],
        priority=row[1],
        enabled=row[2],
        action=row[3],
        partner=row[4],
        sender=row[5],
        direction=row[6],
        operator=row[7],
        channel=row[8],
        traffic_type=row[9],
        note=row[10],
        targets=[{"interface_id": i, "weight": w} for i, w in targets],
    )


async def put_routing_rule(conn: Conn, name: str, state: RoutingRuleState | None) -> None:
    if state is None:
        await conn.execute("DELETE FROM routing_rules WHERE name = %s", (name,))
        return  # targets go with it (ON DELETE CASCADE)
    await conn.execute(
        "INSERT INTO routing_rules (name, priority, enabled, action, partner, sender, direction,"
        " operator, channel, traffic_type, note) VALUES (%s, %s, %s, %s, NULLIF(%s, ''),"
        " NULLIF(%s, ''), NULLIF(%s, ''), NULLIF(%s, ''), NULLIF(%s, ''), %s, %s)"
        " ON CONFLICT (name) DO UPDATE SET priority = EXCLUDED.priority,"
        " enabled = EXCLUDED.enabled, action = EXCLUDED.action, partner = EXCLUDED.partner,"
        " sender = EXCLUDED.sender, direction = EXCLUDED.direction,"
        " operator = EXCLUDED.operator, channel = EXCLUDED.channel,"
        " traffic_type = EXCLUDED.traffic_type, note = EXCLUDED.note",
        (
            name,
            state["priority"],
            state["enabled"],
            state["action"],
            state["partner"],
            state["sender"],
            state["direction"],
            state["operator"],
            state["channel"],
            state["traffic_type"],
            state["note"],
        ),
    )
    await conn.execute("DELETE FROM routing_rule_targets WHERE rule = %s", (name,))
    await conn.execute(
        "INSERT INTO routing_rule_targets (rule, position, interface_id, weight)"
        " SELECT %s, n, i, w FROM unnest(%s::text[], %s::int[]) WITH ORDINALITY AS t(i, w, n)",
        (
            name,
            [t["interface_id"] for t in state["targets"]],
            [t["weight"] for t in state["targets"]],
        ),
    )


async def substitution_rule_state(conn: Conn, name: str) -> SubstitutionRuleState | None:
    rules = await substitution_rules(conn, name)
    return rules[0] if rules else None


async def substitution_rules(conn: Conn, name: str | None = None) -> list[SubstitutionRuleState]:
    """One rule's state, or (name None) every rule's: the cycle check needs them all."""
    cur = await conn.execute(
        "SELECT name, priority, enabled, sender_pattern, only_unregistered, replacement,"
        " coalesce(partner, ''), coalesce(direction, ''), coalesce(operator, ''), note"
        " FROM substitution_rules WHERE %s::text IS NULL OR name = %s ORDER BY name",
        (name, name),
    )
    return [
        SubstitutionRuleState(
            name=row[0],
            priority=row[1],
            enabled=row[2],
            sender_pattern=row[3],
            only_unregistered=row[4],
            replacement=row[5],
            partner=row[6],
            direction=row[7],
            operator=row[8],
            note=row[9],
        )
        for row in await cur.fetchall()
    ]


async def put_substitution_rule(conn: Conn, name: str, state: SubstitutionRuleState | None) -> None:
    if state is None:
        await conn.execute("DELETE FROM substitution_rules WHERE name = %s", (name,))
        return
    await conn.execute(
        "INSERT INTO substitution_rules (name, priority, enabled, sender_pattern,"
        " only_unregistered, replacement, partner, direction, operator, note)"
        " VALUES (%s, %s, %s, %s, %s, %s, NULLIF(%s, ''), NULLIF(%s, ''), NULLIF(%s, ''), %s)"
        " ON CONFLICT (name) DO UPDATE SET priority = EXCLUDED.priority,"
        " enabled = EXCLUDED.enabled, sender_pattern = EXCLUDED.sender_pattern,"
        " only_unregistered = EXCLUDED.only_unregistered, replacement = EXCLUDED.replacement,"
        " partner = EXCLUDED.partner, direction = EXCLUDED.direction,"
        " operator = EXCLUDED.operator, note = EXCLUDED.note",
        (
            state["name"],
            state["priority"],
            state["enabled"],
            state["sender_pattern"],
            state["only_unregistered"],
            state["replacement"],
            state["partner"],
            state["direction"],
            state["operator"],
            state["note"],
        ),
    )


async def traffic_policy_state(conn: Conn, traffic_type: str) -> TrafficPolicyState | None:
    cur = await conn.execute(
        "SELECT traffic_type, to_char(allowed_from, 'HH24:MI'), to_char(allowed_to, 'HH24:MI'),"
        " outside FROM traffic_policies WHERE traffic_type = %s",
        (int(traffic_type),),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {"traffic_type": row[0], "allowed_from": row[1], "allowed_to": row[2], "outside": row[3]}


async def put_traffic_policy(
    conn: Conn, traffic_type: str, state: TrafficPolicyState | None
) -> None:
    if state is None:
        await conn.execute(
            "DELETE FROM traffic_policies WHERE traffic_type = %s", (int(traffic_type),)
        )
        return
    await conn.execute(
        "INSERT INTO traffic_policies (traffic_type, allowed_from, allowed_to, outside)"
        " VALUES (%s, %s::time, %s::time, %s) ON CONFLICT (traffic_type) DO UPDATE SET"
        " allowed_from = EXCLUDED.allowed_from, allowed_to = EXCLUDED.allowed_to,"
        " outside = EXCLUDED.outside",
        (int(traffic_type), state["allowed_from"], state["allowed_to"], state["outside"]),
    )


async def region_time_zone_state(conn: Conn, region: str) -> RegionTimeZoneState | None:
    cur = await conn.execute("SELECT time_zone FROM region_time_zones WHERE region = %s", (region,))
    row = await cur.fetchone()
    return {"region": region, "time_zone": row[0]} if row else None


async def put_region_time_zone(conn: Conn, region: str, state: RegionTimeZoneState | None) -> None:
    if state is None:
        await conn.execute("DELETE FROM region_time_zones WHERE region = %s", (region,))
        return
    await conn.execute(
        "INSERT INTO region_time_zones (region, time_zone) VALUES (%s, %s)"
        " ON CONFLICT (region) DO UPDATE SET time_zone = EXCLUDED.time_zone",
        (region, state["time_zone"]),
    )


async def whitelist_state(conn: Conn, key: str) -> WhitelistState | None:
    partner, mailing, number = key.split(":")
    cur = await conn.execute(
        "SELECT note FROM whitelist WHERE partner = %s AND mailing = %s AND number = %s",
        (partner, mailing, number),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {"partner": partner, "mailing": mailing, "number": number, "note": row[0]}


async def put_whitelist(conn: Conn, key: str, state: WhitelistState | None) -> None:
    partner, mailing, number = key.split(":")
    if state is None:
        await conn.execute(
            "DELETE FROM whitelist WHERE partner = %s AND mailing = %s AND number = %s",
            (partner, mailing, number),
        )
        return
    await conn.execute(
        "INSERT INTO whitelist (partner, mailing, number, note) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (partner, mailing, number) DO UPDATE SET note = EXCLUDED.note",
        (partner, mailing, number, state["note"]),
    )


_INBOUND_ROUTE_FIELDS = tuple(
    InboundRouteState.__annotations__
)  # the columns, in the state's order
# What revisions from before a field existed stand for (migrations 0019, 0020, 0021).
INBOUND_ROUTE_DEFAULTS: dict[str, str | int] = {
    "unavailable_text": "",
    "timeout_seconds": 0,
    "session_keyword": "",
    "session_close_keyword": "",
    "session_seconds": 0,
    "session_open_text": "",
    "session_close_text": "",
    "session_expired_text": "",
}
# (number, keyword) is unique at commit (migration 0014): a rollback may move a pair from
# one route to another in either order.
_PUT_INBOUND_ROUTE = (
    f"INSERT INTO inbound_routes ({', '.join(_INBOUND_ROUTE_FIELDS)})"  # noqa: S608 (constant columns)
    f" VALUES ({', '.join(['%s'] * len(_INBOUND_ROUTE_FIELDS))}) ON CONFLICT (name) DO UPDATE"
    f" SET {', '.join(f'{f} = EXCLUDED.{f}' for f in _INBOUND_ROUTE_FIELDS[1:])}"
)


async def inbound_route_state(conn: Conn, name: str) -> InboundRouteState | None:
    cur = await conn.execute(
        f"SELECT {', '.join(_INBOUND_ROUTE_FIELDS)} FROM inbound_routes WHERE name = %s",  # noqa: S608
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return InboundRouteState(
        name=row[0],
        number=row[1],
        keyword=row[2],
        partner=row[3],
        format=row[4],
        unavailable_text=row[5],
        timeout_seconds=row[6],
        session_keyword=row[7],
        session_close_keyword=row[8],
        session_seconds=row[9],
        session_open_text=row[10],
        session_close_text=row[11],
        session_expired_text=row[12],
    )


async def put_inbound_route(conn: Conn, name: str, state: InboundRouteState | None) -> None:
    if state is None:
        await conn.execute("DELETE FROM inbound_routes WHERE name = %s", (name,))
        return
    values: Mapping[str, object] = state  # a revision's state may lack the newer fields
    await conn.execute(
        _PUT_INBOUND_ROUTE,
        tuple(values.get(f, INBOUND_ROUTE_DEFAULTS.get(f)) for f in _INBOUND_ROUTE_FIELDS),
    )


def _removes_from_mailings(before: BlacklistState, after: BlacklistState) -> bool:
    """A number listed to be kept in existing mailings, listed again to be removed from
    them (an FTP B file's Y after an N): the removal applies. The reverse does not undo it."""
    return before.get("keep_in_mailings", False) and not after.get("keep_in_mailings", False)


async def _blacklist_by_key(conn: Conn, key: str) -> BlacklistState | None:
    partner, _, number = key.rpartition(":")
    return await blacklist_state(conn, partner, number)


# -- the specs: rank is the restore order (what others refer to comes first) ------------------


def _name(
    s: DirectionState
    | OperatorState
    | SenderNameState
    | RoutingRuleState
    | SubstitutionRuleState
    | InboundRouteState,
) -> str:
    return s["name"]


def _login(s: PartnerState) -> str:
    return s["login"]


def _id(s: InterfaceState) -> str:
    return s["id"]


async def tariff_state(conn: Conn, key: str) -> TariffState | None:
    partner, direction, channel, traffic, valid_from = key.split("|")
    cur = await conn.execute(
        "SELECT price::text, currency FROM tariffs WHERE partner = %s AND direction = %s"
        " AND channel = %s AND traffic_type IS NOT DISTINCT FROM %s AND valid_from = %s",
        (partner, direction, int(channel), int(traffic) if traffic else None, valid_from),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return TariffState(
        partner=partner,
        direction=direction,
        channel=int(channel),
        traffic_type=int(traffic) if traffic else None,
        price=row[0],
        currency=row[1],
        valid_from=valid_from,
    )


async def put_tariff(conn: Conn, key: str, state: TariffState | None) -> None:
    if state is None:
        partner, direction, channel, traffic, valid_from = key.split("|")
        await conn.execute(
            "DELETE FROM tariffs WHERE partner = %s AND direction = %s AND channel = %s"
            " AND traffic_type IS NOT DISTINCT FROM %s AND valid_from = %s",
            (partner, direction, int(channel), int(traffic) if traffic else None, valid_from),
        )
        return
    # The row keeps its id (the DWH's key for it) when only its price changes.
    await conn.execute(
        "INSERT INTO tariffs (partner, direction, channel, traffic_type, price, currency,"
        " valid_from) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (partner, direction, channel, traffic_type, valid_from)"
        " DO UPDATE SET price = EXCLUDED.price, currency = EXCLUDED.currency",
        (
            state["partner"],
            state["direction"],
            state["channel"],
            state["traffic_type"],
            state["price"],
            state["currency"],
            state["valid_from"],
        ),
    )


def _installation(_: VerificationPolicyState) -> str:
    return "installation"  # the one row


def _traffic_type(s: TrafficPolicyState) -> str:
    return str(s["traffic_type"])


def _region(s: RegionTimeZoneState) -> str:
    return s["region"]


_ORDER_BY_NAME = "WHERE name > %s ORDER BY name LIMIT %s"
PARTNER: Spec[PartnerState, PartnerState] = Spec(
    "partner",
    0,
    v.partner,
    _login,
    partner_state,
    put_partner,
    "SELECT login FROM partners WHERE login > %s ORDER BY login LIMIT %s",
)
INTERFACE: Spec[InterfaceState, ss.Interface] = Spec(
    "interface", 0, v.interface, _id, interface_state, put_interface
)
VERIFICATION_POLICY: Spec[VerificationPolicyState, VerificationPolicyState] = Spec(
    "verification_policy", 0, v.verification_policy, _installation, policy_state, put_policy
)
TRAFFIC_POLICY: Spec[TrafficPolicyState, ss.TrafficPolicy] = Spec(
    "traffic_policy", 0, v.traffic_policy, _traffic_type, traffic_policy_state, put_traffic_policy
)
REGION_TIME_ZONE: Spec[RegionTimeZoneState, ss.RegionTimeZone] = Spec(
    "region_time_zone", 0, v.region_time_zone, _region, region_time_zone_state, put_region_time_zone
)
OPERATOR: Spec[OperatorState, ss.Operator] = Spec(
    "operator", 1, v.operator, _name, operator_state, put_operator
)
WHITELIST: Spec[WhitelistState, ss.WhitelistEntry] = Spec(  # its partner
    "whitelist", 1, v.whitelist_entry, v.whitelist_key, whitelist_state, put_whitelist
)
BLACKLIST: Spec[BlacklistState, ss.BlacklistEntry] = Spec(
    "blacklist",
    2,
    v.blacklist_entry,
    v.blacklist_key,
    _blacklist_by_key,
    put_blacklist,
    replaces=_removes_from_mailings,
)
DIRECTION: Spec[DirectionState, ss.Direction] = Spec(  # its operator
    "direction",
    2,
    v.direction,
    _name,
    direction_state,
    put_direction,
    "SELECT d.name FROM directions d JOIN operators o ON o.id = d.operator_id"
    " WHERE d.name > %s AND (%s = '' OR o.name = %s) ORDER BY d.name LIMIT %s",
)
SENDER_NAME: Spec[SenderNameState, ss.SenderName] = Spec(  # the operators it is registered with
    "sender_name",
    2,
    v.sender_name,
    _name,
    sender_name_state,
    put_sender_name,
    f"SELECT name FROM sender_names {_ORDER_BY_NAME}",  # noqa: S608 (constant)
)
ROUTING_RULE: Spec[RoutingRuleState, ss.RoutingRule] = (
    Spec(  # partner, direction, operator, interfaces
        "routing_rule",
        3,
        v.routing_rule,
        _name,
        routing_rule_state,
        put_routing_rule,
        f"SELECT name FROM routing_rules {_ORDER_BY_NAME}",  # noqa: S608 (constant)
    )
)
SUBSTITUTION_RULE: Spec[SubstitutionRuleState, ss.SubstitutionRule] = (
    Spec(  # partner, direction, operator
        "substitution_rule",
        3,
        v.substitution_rule,
        _name,
        substitution_rule_state,
        put_substitution_rule,
        f"SELECT name FROM substitution_rules {_ORDER_BY_NAME}",  # noqa: S608 (constant)
    )
)
INBOUND_ROUTE: Spec[InboundRouteState, ss.InboundRoute] = Spec(  # its partner
    "inbound_route",
    3,
    v.inbound_route,
    _name,
    inbound_route_state,
    put_inbound_route,
    f"SELECT name FROM inbound_routes {_ORDER_BY_NAME}",  # noqa: S608 (constant)
)

TARIFF: Spec[TariffState, ss.Tariff] = Spec(
    "tariff", 0, v.tariff, v.tariff_key, tariff_state, put_tariff
)

_ALL: tuple[EntitySpec, ...] = (
    PARTNER,
    INTERFACE,
    VERIFICATION_POLICY,
    TRAFFIC_POLICY,
    REGION_TIME_ZONE,
    OPERATOR,
    WHITELIST,
    BLACKLIST,
    DIRECTION,
    SENDER_NAME,
    ROUTING_RULE,
    SUBSTITUTION_RULE,
    INBOUND_ROUTE,
    TARIFF,
    PARTNER_CHANNEL,
    MESSENGER_INTERFACE,
    credentials.API_KEY_SPEC,  # not restored by a rollback (store.restore)
    credentials.ADMIN_SPEC,
)
SPECS = {s.entity: s for s in _ALL}
ENTITIES = frozenset(SPECS)  # what a revision's changes may name
