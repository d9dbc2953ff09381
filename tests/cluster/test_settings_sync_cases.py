"""Settings sync checked case by case on three installations (own databases and processes)
and a real etcd: the number plan, API keys and administrators reach both standbys and
resolve / authenticate there as on the master; standbys refuse each of these writes; and a
master frozen past its TTL that committed a revision the new master never saw comes back
as a standby rewound to the new master's history (same revision number, other content)."""

from __future__ import annotations

import signal
from pathlib import Path

import grpc
import psycopg
import pytest

from rcs.core.v1 import auth_service_pb2 as auth
from rcs.core.v1 import auth_service_pb2_grpc
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_routing.number_plan_import import number_plan_chunks
from rcs_runtime.grpc_client import error_reason
from tests.cluster import test_cluster as base
from tests.cluster.harness import TTL, Member, eventually
from tests.cluster.test_cluster import ADMIN, Cluster, resolve, write
from tests.support import admin_user_cli

cluster = base.cluster  # the fixture: this module's own three installations

pytestmark = pytest.mark.e2e
DEF = (Path(__file__).parents[1] / "fixtures" / "number_plan" / "DEF-9xx.csv").read_bytes()
POLAR = 'ООО "Полярная Связь"'
HISTORY = "SELECT revision, checksum FROM settings_revisions ORDER BY revision"


async def authenticates(member: Member, key: str, password: str) -> tuple[str, str]:
    """(the partner the API key is, the administrator root with ``password``) on ``member``'s
    core; "" for a refusal."""
    found = []
    for method, request in (
        ("AuthenticateApiKey", auth.AuthenticateApiKeyRequest(key=key, remote_ip="10.0.0.1")),
        ("AuthenticateAdmin", auth.AuthenticateAdminRequest(login="root", password=password)),
    ):
        try:
            answer = await member.call(
                member.core, auth_service_pb2_grpc.AuthServiceStub, method, request
            )
            found.append(answer.login)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise
            found.append("")
    return found[0], found[1]


def history(member: Member) -> list[tuple[int, str]]:
    with psycopg.connect(member.database_url) as conn:
        return [(int(r), str(c)) for r, c in conn.execute(HISTORY).fetchall()]


async def test_number_plan_api_keys_and_administrators_reach_both_standbys(
    cluster: Cluster,
) -> None:
    master = await cluster.master(within=120)
    await write(
        master,
        "CreatePartner",
        ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="acme"), password="pw"),
    )
    key = await write(master, "CreateApiKey", ss.CreateApiKeyRequest(actor=ADMIN, partner="acme"))
    code, err = await admin_user_cli(master.core, "root", "rootpass1")
    assert code == 0, err
    plan = await master.settings("ImportNumberPlan", iter(number_plan_chunks(DEF, ADMIN)))
    standbys = [m for m in cluster.members if m is not master]
    bind = ss.Interface(
        id="if-polar", host="smsc", port=2775, system_id="rcs", password="pw", enabled=True
    )
    await write(master, "PutInterface", ss.PutInterfaceRequest(actor=ADMIN, interface=bind))
    await write(  # the plan made the operator; routes to it need its bind
        master,
        "PutOperator",
        ss.PutOperatorRequest(
            actor=ADMIN, operator=ss.Operator(name=POLAR, interface_ids=[bind.id])
        ),
    )

    async def same_history() -> bool:
        # Histories first: a login tried too early counts as failed (and is throttled).
        return len({tuple(history(m)) for m in cluster.members}) == 1

    _, took = await eventually(same_history, within=15, what="key, admin and plan everywhere")
    print(f"API key, administrator and number plan on both standbys in {took:.3f} s")
    for m in cluster.members:
        assert await authenticates(m, key.key, "rootpass1") == ("acme", "root")
    assert plan.revision in dict(history(master))

    async def routed_alike() -> bool:
        routes = [await resolve(m, "79000123456") for m in cluster.members]
        return all(r.found and r.operator == POLAR for r in routes) and (
            len({r.direction for r in routes}) == 1
        )

    await eventually(routed_alike, within=10, what="a plan number routed alike everywhere")

    await write(
        master,
        "RevokeApiKey",
        ss.RevokeApiKeyRequest(actor=ADMIN, partner="acme", id=key.api_key.id),
    )

    await eventually(same_history, within=15, what="the revocation everywhere")
    for m in cluster.members:
        assert await authenticates(m, key.key, "rootpass1") == ("", "root")

    names = f"installation {master.installation_id} (core {master.core})"
    for m in standbys:
        with pytest.raises(grpc.aio.AioRpcError) as issued:
            await m.settings("CreateApiKey", ss.CreateApiKeyRequest(actor=ADMIN, partner="acme"))
        assert issued.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert names in (issued.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as imported:
            await m.settings("ImportNumberPlan", iter(number_plan_chunks(DEF, ADMIN)))
        assert error_reason(imported.value) == "NOT_MASTER"
        assert names in (imported.value.details() or "")
        code, err = await admin_user_cli(m.core, "root", "otherpass2")
        assert code == 1
        assert names in err
        assert await authenticates(m, key.key, "rootpass1") == ("", "root")


async def test_a_frozen_masters_unseen_revision_is_rewound_when_it_returns(
    cluster: Cluster,
) -> None:
    old = await cluster.master()
    old.signal("cluster", signal.SIGSTOP)
    try:
        # Its term has seconds left (valid_until): the write commits, but its frozen agent
        # never publishes it, so no standby pulls it.
        ghost = await old.settings(
            "CreatePartner",
            ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="ghost"), password="pw"),
        )
        new = await cluster.master(within=TTL + 10, exclude=old.installation_id)
        made = await write(
            new,
            "CreatePartner",
            ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="gale"), password="pw"),
        )
        assert made.revision == ghost.revision  # the same number, another revision
    finally:
        old.signal("cluster", signal.SIGCONT)

    async def converged() -> bool:
        return history(old) == history(new)

    await eventually(converged, within=TTL + 15, what="the old master rewound to the new one")
    partners = await old.settings("ListPartners", ss.ListPartnersRequest())
    logins = {p.login for p in partners.partners}
    assert "gale" in logins
    assert "ghost" not in logins
    assert "settings_history_diverged" in old.log("cluster")
    assert "settings_history_rewound" in old.log("core")
    with psycopg.connect(old.database_url) as conn:
        row = conn.execute(
            "SELECT target FROM audit_log WHERE action = 'settings.rewind'"
        ).fetchone()
    assert row is not None
    assert f"not in installation {new.installation_id}'s history" in row[0]
