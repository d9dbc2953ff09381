"""SettingsService over real gRPC and PostgreSQL: revisions, audit, rollback, idempotency."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf import field_mask_pb2

from rcs.core.v1 import auth_service_pb2, auth_service_pb2_grpc, settings_service_pb2_grpc
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.auth.passwords import verify_password
from rcs_core.auth.servicer import AuthServicer
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
    yield settings_service_pb2_grpc.SettingsServiceStub(channel)
    await channel.close()
    await server.stop(0)


async def scalar(dsn: str, sql: str, *args: Any) -> Any:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(sql, args)
        row = await cur.fetchone()
        return row[0] if row else None


def create(login: str, request_id: str = "") -> ss.CreatePartnerRequest:
    return ss.CreatePartnerRequest(
        request_id=request_id,
        actor=ADMIN,
        partner=ss.Partner(login=login, default_sender="ACME"),
        password="s3cret",
    )


async def test_each_change_is_a_revision_with_audit_entry(settings: Any, database_url: str) -> None:
    start = await scalar(database_url, "SELECT revision FROM settings_revision")
    created = await settings.CreatePartner(create("acme"))
    assert created.revision == start + 1
    assert created.partner.default_ttl_seconds == 86400
    updated = await settings.UpdatePartner(
        ss.UpdatePartnerRequest(
            actor=ADMIN,
            partner=ss.Partner(login="acme", block_duplicates=True),
            update_mask=field_mask_pb2.FieldMask(paths=["block_duplicates"]),
        )
    )
    assert updated.revision == start + 2
    assert updated.partner.block_duplicates
    assert updated.partner.default_sender == "ACME"  # not in the mask: kept
    revisions = (await settings.ListRevisions(ss.ListRevisionsRequest())).revisions
    assert [r.revision for r in revisions] == [start + 2, start + 1]
    assert revisions[0].actor == ADMIN
    change = json.loads(revisions[0].changes_json)[0]
    assert change["before"]["block_duplicates"] is False
    assert change["after"]["block_duplicates"] is True
    assert change["after"]["password_hash"] == "<redacted>"
    assert (
        await scalar(
            database_url,
            "SELECT count(*) FROM audit_log WHERE actor = 'admin' AND remote_ip = %s",
            "10.0.0.5",
        )
        == 2
    )


async def test_audit_log_is_append_only(settings: Any, database_url: str) -> None:
    await settings.CreatePartner(create("acme"))
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        await scalar(database_url, "UPDATE audit_log SET actor = 'someone else' RETURNING 1")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        await scalar(database_url, "DELETE FROM audit_log RETURNING 1")


async def test_repeated_request_id_replays_the_first_answer(settings: Any) -> None:
    first = await settings.CreatePartner(create("acme", request_id="r-1"))
    again = await settings.CreatePartner(create("acme", request_id="r-1"))
    assert first == again
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await settings.CreatePartner(create("acme", request_id="r-2"))
    assert error_reason(err.value) == "INVALID_REQUEST"


async def test_rollback_restores_partners_and_black_lists_in_one_step(
    settings: Any, database_url: str
) -> None:
    base = (await settings.CreatePartner(create("acme"))).revision
    await settings.AddBlacklistEntries(
        ss.AddBlacklistEntriesRequest(
            actor=ADMIN,
            entries=[
                ss.BlacklistEntry(number="+7 916 000-00-01"),
                ss.BlacklistEntry(partner="acme", number="79160000002", note="opt-out"),
            ],
        )
    )
    await settings.CreatePartner(create("later"))
    await settings.UpdatePartner(
        ss.UpdatePartnerRequest(
            actor=ADMIN,
            partner=ss.Partner(login="acme"),
            update_mask=field_mask_pb2.FieldMask(paths=["password"]),
            password="changed",
        )
    )
    listed = await settings.ListBlacklistEntries(ss.ListBlacklistEntriesRequest(partner="acme"))
    assert [(e.number, e.note) for e in listed.entries] == [("79160000002", "opt-out")]

    rolled = await settings.RollbackSettings(ss.RollbackSettingsRequest(actor=ADMIN, revision=base))
    assert rolled.changed_count == 4  # two entries, one partner removed, one password back
    assert await scalar(database_url, "SELECT count(*) FROM blacklist") == 0
    assert await scalar(database_url, "SELECT count(*) FROM partners WHERE login = 'later'") == 0
    stored = await scalar(database_url, "SELECT password_hash FROM partners WHERE login = 'acme'")
    assert verify_password("s3cret", stored)
    # The rollback is itself a revision, so it can be rolled back too.
    undo = await settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=rolled.revision - 1)
    )
    assert undo.changed_count == 4
    assert await scalar(database_url, "SELECT count(*) FROM blacklist") == 2


async def test_bad_settings_are_refused_with_the_reason(settings: Any) -> None:
    cases = [
        (create("bad login!"), "INVALID_REQUEST"),
        (ss.CreatePartnerRequest(partner=ss.Partner(login="x")), "INVALID_REQUEST"),
        (
            ss.UpdatePartnerRequest(
                partner=ss.Partner(login="x"),
                update_mask=field_mask_pb2.FieldMask(paths=["login"]),
            ),
            "INVALID_REQUEST",
        ),
        (
            ss.AddBlacklistEntriesRequest(entries=[ss.BlacklistEntry(number="12")]),
            "INVALID_DESTINATION",
        ),
        (
            ss.AddBlacklistEntriesRequest(
                entries=[ss.BlacklistEntry(partner="ghost", number="79160000001")]
            ),
            "NOT_FOUND",
        ),
        (ss.RollbackSettingsRequest(revision=999_999), "NOT_FOUND"),
    ]
    methods = {
        ss.CreatePartnerRequest: settings.CreatePartner,
        ss.UpdatePartnerRequest: settings.UpdatePartner,
        ss.AddBlacklistEntriesRequest: settings.AddBlacklistEntries,
        ss.RollbackSettingsRequest: settings.RollbackSettings,
    }
    for request, reason in cases:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await methods[type(request)](request)
        assert error_reason(err.value) == reason, request


async def test_partner_report_and_inbound_urls_are_checked_versioned_and_restored(
    settings: Any, database_url: str
) -> None:
    base = (await settings.CreatePartner(create("acme"))).revision
    assert (await settings.GetPartner(ss.GetPartnerRequest(login="acme"))).partner.report_url == ""
    updated = await settings.UpdatePartner(
        ss.UpdatePartnerRequest(
            actor=ADMIN,
            partner=ss.Partner(
                login="acme", report_url="https://acme.test/dlr?k=1", inbound_url="http://a.test/mo"
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["report_url", "inbound_url"]),
        )
    )
    assert (updated.partner.report_url, updated.partner.inbound_url) == (
        "https://acme.test/dlr?k=1",
        "http://a.test/mo",
    )
    assert await scalar(database_url, "SELECT report_url || ' ' || inbound_url FROM partners") == (
        "https://acme.test/dlr?k=1 http://a.test/mo"
    )
    bad = ss.Partner(login="acme", report_url="ftp://acme.test/", inbound_url="/relative")
    for field in ("report_url", "inbound_url"):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await settings.UpdatePartner(
                ss.UpdatePartnerRequest(
                    partner=bad, update_mask=field_mask_pb2.FieldMask(paths=[field])
                )
            )
        assert error_reason(err.value) == "INVALID_REQUEST"
        assert field in (err.value.details() or "")
    await settings.RollbackSettings(ss.RollbackSettingsRequest(actor=ADMIN, revision=base))
    restored = (await settings.GetPartner(ss.GetPartnerRequest(login="acme"))).partner
    assert (restored.report_url, restored.inbound_url) == ("", "")


async def test_partner_smpp_session_limit_is_versioned_and_told_at_authentication(
    pool: Any, settings: Any
) -> None:
    request = create("acme")
    request.partner.max_smpp_sessions = 3
    base = await settings.CreatePartner(request)
    assert base.partner.max_smpp_sessions == 3
    unlimited = await settings.UpdatePartner(
        ss.UpdatePartnerRequest(
            actor=ADMIN,
            partner=ss.Partner(login="acme", max_smpp_sessions=0),
            update_mask=field_mask_pb2.FieldMask(paths=["max_smpp_sessions"]),
        )
    )
    assert (unlimited.partner.max_smpp_sessions, unlimited.partner.default_sender) == (0, "ACME")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await settings.UpdatePartner(
            ss.UpdatePartnerRequest(
                partner=ss.Partner(login="acme", max_smpp_sessions=-1),
                update_mask=field_mask_pb2.FieldMask(paths=["max_smpp_sessions"]),
            )
        )
    assert "max_smpp_sessions" in (err.value.details() or "")
    await settings.RollbackSettings(ss.RollbackSettingsRequest(actor=ADMIN, revision=base.revision))
    server = await start_server(
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s)
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    try:
        told = await auth_service_pb2_grpc.AuthServiceStub(channel).AuthenticatePartner(
            auth_service_pb2.AuthenticatePartnerRequest(login="acme", password="s3cret")
        )
    finally:
        await channel.close()
        await server.stop(0)
    assert (told.max_smpp_sessions, told.default_ttl_seconds) == (3, 86400)


async def test_lists_page_through_partners(settings: Any) -> None:
    for login in ("a1", "a2", "a3"):
        await settings.CreatePartner(create(login))
    page = await settings.ListPartners(ss.ListPartnersRequest(page_size=2))
    rest = await settings.ListPartners(
        ss.ListPartnersRequest(page_size=2, page_token=page.next_page_token)
    )
    assert [p.login for p in page.partners] + [p.login for p in rest.partners] == ["a1", "a2", "a3"]
    assert rest.next_page_token == ""


def iface(id_: str, port: int = 2775, password: str = "pw") -> ss.PutInterfaceRequest:
    return ss.PutInterfaceRequest(
        actor=ADMIN,
        interface=ss.Interface(
            id=id_,
            host="smsc.example",
            port=port,
            system_id="rcs",
            password=password,
            enabled=True,
        ),
    )


async def test_operators_route_only_to_existing_interfaces(
    settings: Any, database_url: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await settings.PutOperator(
            ss.PutOperatorRequest(
                actor=ADMIN, operator=ss.Operator(name="MegaOp", interface_ids=["nope"])
            )
        )
    assert error_reason(err.value) == "INVALID_REQUEST"
    assert await scalar(database_url, "SELECT count(*) FROM operators WHERE name = 'MegaOp'") == 0

    await settings.PutInterface(iface("mega-1"))
    await settings.PutInterface(iface("mega-2"))
    put = await settings.PutOperator(
        ss.PutOperatorRequest(
            actor=ADMIN,
            operator=ss.Operator(name="MegaOp", mcc="250", interface_ids=["mega-2", "mega-1"]),
        )
    )
    assert list(put.operator.interface_ids) == ["mega-2", "mega-1"]
    listed = await settings.ListInterfaces(ss.ListInterfacesRequest())
    assert [i.id for i in listed.interfaces] == ["mega-1", "mega-2"]
    assert all(i.password == "" for i in listed.interfaces)  # write-only
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await settings.DeleteInterface(ss.DeleteInterfaceRequest(actor=ADMIN, id="mega-1"))
    assert "MegaOp" in (err.value.details() or "")


async def test_rollback_restores_interfaces_and_routes(settings: Any, database_url: str) -> None:
    await settings.PutInterface(iface("a"))
    base = (
        await settings.PutOperator(
            ss.PutOperatorRequest(actor=ADMIN, operator=ss.Operator(name="Op", interface_ids=["a"]))
        )
    ).revision
    await settings.PutInterface(iface("b", port=2776))
    await settings.PutOperator(
        ss.PutOperatorRequest(actor=ADMIN, operator=ss.Operator(name="Op", interface_ids=["b"]))
    )
    await settings.PutInterface(iface("a", port=9999, password=""))  # password kept
    await settings.RollbackSettings(ss.RollbackSettingsRequest(actor=ADMIN, revision=base))
    ops = await settings.ListOperators(ss.ListOperatorsRequest())
    assert [(o.name, list(o.interface_ids)) for o in ops.operators] == [("Op", ["a"])]
    assert await scalar(database_url, "SELECT port FROM interfaces WHERE id = 'a'") == 2775
    assert await scalar(database_url, "SELECT password FROM interfaces WHERE id = 'a'") == "pw"
    assert await scalar(database_url, "SELECT count(*) FROM interfaces WHERE id = 'b'") == 0
    revisions = await settings.ListRevisions(ss.ListRevisionsRequest(page_size=1))
    assert "pw" not in revisions.revisions[0].changes_json


async def test_verification_policy_is_versioned_and_applied(
    settings: Any, database_url: str
) -> None:
    policy = (await settings.GetVerificationPolicy(ss.GetVerificationPolicyRequest())).policy
    assert (policy.inactive_threshold, list(policy.inactive_codes)) == (3, [2, 8])
    updated = await settings.UpdateVerificationPolicy(
        ss.UpdateVerificationPolicyRequest(
            actor=ADMIN,
            policy=ss.VerificationPolicy(inactive_threshold=5, inactive_codes=[8]),
            update_mask=field_mask_pb2.FieldMask(paths=["inactive_threshold", "inactive_codes"]),
        )
    )
    assert updated.revision > 0
    assert updated.policy.inactive_window_seconds == 30 * 86400  # not in the mask: kept
    assert await scalar(database_url, "SELECT inactive_threshold FROM verification_policy") == 5
    await settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=updated.revision - 1)
    )
    assert await scalar(database_url, "SELECT inactive_codes FROM verification_policy") == [2, 8]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await settings.UpdateVerificationPolicy(
            ss.UpdateVerificationPolicyRequest(
                policy=ss.VerificationPolicy(inactive_threshold=0),
                update_mask=field_mask_pb2.FieldMask(paths=["inactive_threshold"]),
            )
        )
    assert error_reason(err.value) == "INVALID_REQUEST"
