"""Per-login IP allowlists (F18): set through SettingsService, enforced by AuthService for
every gateway (password and API key alike), before the password is even checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from rcs.core.v1 import auth_service_pb2 as auth
from rcs.core.v1 import auth_service_pb2_grpc, settings_service_pb2_grpc
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.auth import partners_store as partners
from rcs_core.auth.guard import FailedAuthGuard
from rcs_core.auth.servicer import AuthServicer
from rcs_core.settings.servicer import SettingsServicer
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.support import start_server
from tests.unit.core.test_passwords import _old_scrypt

pytestmark = pytest.mark.integration
ADMIN = ss.Actor(login="root", remote_ip="127.0.0.1")


@pytest.fixture
async def stubs(pool: Any) -> AsyncIterator[tuple[Any, Any]]:
    server = await start_server(
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        ),
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    yield (
        settings_service_pb2_grpc.SettingsServiceStub(channel),
        auth_service_pb2_grpc.AuthServiceStub(channel),
    )
    await channel.close()
    await server.stop(0)


async def _refusal(call: Any) -> str | None:
    try:
        await call
    except grpc.aio.AioRpcError as err:
        return error_reason(err)
    return None


async def test_allowlist_is_enforced_for_passwords_and_keys(stubs: tuple[Any, Any]) -> None:
    settings, authn = stubs
    created = await settings.CreatePartner(
        ss.CreatePartnerRequest(
            actor=ADMIN,
            partner=ss.Partner(login="acme", allowed_subnets=["10.1.2.3/8", "2001:db8::/32"]),
            password="s3cret-pass",
        )
    )
    assert list(created.partner.allowed_subnets) == ["10.0.0.0/8", "2001:db8::/32"]
    key = (await settings.CreateApiKey(ss.CreateApiKeyRequest(actor=ADMIN, partner="acme"))).key

    def by_password(ip: str, password: str = "s3cret-pass") -> Any:
        return authn.AuthenticatePartner(
            auth.AuthenticatePartnerRequest(login="acme", password=password, remote_ip=ip)
        )

    def by_key(ip: str) -> Any:
        return authn.AuthenticateApiKey(auth.AuthenticateApiKeyRequest(key=key, remote_ip=ip))

    assert await _refusal(by_password("10.200.0.1")) is None
    assert await _refusal(by_password("2001:db8::7")) is None
    assert await _refusal(by_key("10.0.0.9")) is None
    assert await _refusal(by_password("192.0.2.1")) == "IP_NOT_ALLOWED"
    assert await _refusal(by_password("")) == "IP_NOT_ALLOWED"
    assert await _refusal(by_key("192.0.2.1")) == "IP_NOT_ALLOWED"
    # Outside the list even a wrong password learns nothing about the password.
    assert await _refusal(by_password("192.0.2.1", "wrong")) == "IP_NOT_ALLOWED"
    assert await _refusal(by_password("10.0.0.1", "wrong")) == "INVALID_PASSWORD"

    # Emptying the list opens the login to any address; it is a settings revision.
    updated = await settings.UpdatePartner(
        ss.UpdatePartnerRequest(
            actor=ADMIN,
            partner=ss.Partner(login="acme"),
            update_mask=field_mask_pb2.FieldMask(paths=["allowed_subnets"]),
        )
    )
    assert list(updated.partner.allowed_subnets) == []
    assert updated.revision > created.revision
    assert await _refusal(by_password("192.0.2.1")) is None
    # And a rollback puts the list back.
    await settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=created.revision)
    )
    assert await _refusal(by_password("192.0.2.1")) == "IP_NOT_ALLOWED"


async def test_bad_subnet_is_refused_with_the_field(stubs: tuple[Any, Any]) -> None:
    settings, _ = stubs
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await settings.CreatePartner(
            ss.CreatePartnerRequest(
                actor=ADMIN,
                partner=ss.Partner(login="acme", allowed_subnets=["10.0.0.0/33"]),
                password="s3cret-pass",
            )
        )
    assert error_reason(caught.value) == "INVALID_REQUEST"
    assert "10.0.0.0/33" in (caught.value.details() or "")


async def test_repeated_failures_are_throttled_even_with_the_right_password(
    pool: Any,
) -> None:
    """At the failing address, for that login (or API keys): other addresses go on."""
    guard = FailedAuthGuard(pool, max_failures=3, window_seconds=60, base_delay_seconds=30)
    server = await start_server(
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(
            AuthServicer(pool, guard), s
        )
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    try:
        async with pool.connection() as conn:
            await partners.upsert(conn, "acme", "right")
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)

        def attempt(password: str, ip: str = "192.0.2.1") -> Any:
            return stub.AuthenticatePartner(
                auth.AuthenticatePartnerRequest(login="acme", password=password, remote_ip=ip)
            )

        for _ in range(3):
            assert await _refusal(attempt("guess")) == "INVALID_PASSWORD"
        assert await _refusal(attempt("right")) == "THROTTLED"
        assert await _refusal(attempt("right", "198.51.100.1")) is None  # not the login
        key_refusals = [
            await _refusal(
                stub.AuthenticateApiKey(
                    auth.AuthenticateApiKeyRequest(key="x", remote_ip="10.9.9.9")
                )
            )
            for _ in range(4)
        ]
        assert key_refusals == ["INVALID_PASSWORD"] * 3 + ["THROTTLED"]
    finally:
        await channel.close()
        await server.stop(0)


async def test_an_old_scrypt_hash_is_replaced_by_argon2id_at_the_next_good_login(
    pool: Any, stubs: tuple[Any, Any]
) -> None:
    _, authn = stubs
    async with pool.connection() as conn:
        await partners.upsert(conn, "legacy", "pw")
        await conn.execute(
            "UPDATE partners SET password_hash = %s WHERE login = 'legacy'",
            (_old_scrypt("pw"),),
        )
    request = auth.AuthenticatePartnerRequest(login="legacy", password="pw", remote_ip="10.0.0.1")
    await authn.AuthenticatePartner(request)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT password_hash FROM partners WHERE login = 'legacy'")
        row = await cur.fetchone()
    assert row is not None
    assert row[0].startswith("$argon2id$")
    await authn.AuthenticatePartner(request)  # and the new hash works
