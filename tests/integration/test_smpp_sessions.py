"""SMPP sessions counted over every SMPP gateway (SMPP_API 1.3): AuthService's
ClaimSmppSession / RenewSmppSessions / ReleaseSmppSessions over real gRPC on PostgreSQL
(rcs_core/auth/smpp_sessions_store.py). The gateways' side is in test_smpp_gateway.py."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf import duration_pb2

from rcs.core.v1 import auth_service_pb2 as auth
from rcs.core.v1 import auth_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.auth import smpp_sessions_store as smpp_sessions
from rcs_core.auth.servicer import AuthServicer
from rcs_core.config import CoreSettings
from rcs_core.db import locks, maintenance
from rcs_runtime.db import open_pool
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.support import start_server

pytestmark = pytest.mark.integration
TRX = auth.SMPP_BIND_MODE_TRANSCEIVER
MINUTE = duration_pb2.Duration(seconds=60)


class Core:
    def __init__(self, stub: Any, dsn: str) -> None:
        self.stub = stub
        self.dsn = dsn

    async def claim(
        self,
        session_id: str,
        gateway_id: str = "gw-a",
        login: str = "acme",
        mode: auth.SmppBindMode.ValueType = TRX,
        lease: duration_pb2.Duration = MINUTE,
    ) -> str | int:
        """The login's bound sessions when granted, else the refusal's reason."""
        try:
            granted = await self.stub.ClaimSmppSession(
                auth.ClaimSmppSessionRequest(
                    login=login,
                    session_id=session_id,
                    gateway_id=gateway_id,
                    mode=mode,
                    lease=lease,
                )
            )
        except grpc.aio.AioRpcError as err:
            return error_reason(err) or str(err.code())
        return int(granted.bound_sessions)

    async def renew(self, gateway_id: str, *session_ids: str) -> list[str]:
        answer = await self.stub.RenewSmppSessions(
            auth.RenewSmppSessionsRequest(
                gateway_id=gateway_id, session_ids=session_ids, lease=MINUTE
            )
        )
        return list(answer.unknown_session_ids)

    async def release(self, *session_ids: str) -> int:
        answer = await self.stub.ReleaseSmppSessions(
            auth.ReleaseSmppSessionsRequest(session_ids=session_ids)
        )
        return int(answer.released_count)

    async def execute(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            cur = await conn.execute(sql.encode(), args)
            return list(await cur.fetchall()) if cur.description else []

    async def expire(self, *session_ids: str) -> None:
        """As if the gateway holding them had stopped renewing a while ago."""
        await self.execute(
            "UPDATE smpp_sessions SET expires_at = now() - interval '1 second'"
            " WHERE session_id = ANY(%s)",
            list(session_ids),
        )


@pytest.fixture
async def core(pool: Any, database_url: str) -> AsyncIterator[Core]:
    async with pool.connection() as conn:
        await partners.upsert(conn, "acme", "pw")
        await partners.upsert(conn, "other", "pw")
        await conn.execute("UPDATE partners SET max_smpp_sessions = 2 WHERE login = 'acme'")
    server = await start_server(
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s)
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    yield Core(auth_service_pb2_grpc.AuthServiceStub(channel), database_url)
    await channel.close()
    await server.stop(0)


async def test_the_limit_holds_over_gateways_and_a_release_frees_a_slot(core: Core) -> None:
    assert await core.claim("a1", "gw-a") == 1
    assert await core.claim("b1", "gw-b", mode=auth.SMPP_BIND_MODE_RECEIVER) == 2
    assert await core.claim("b2", "gw-b", mode=auth.SMPP_BIND_MODE_TRANSMITTER) == (
        "TOO_MANY_SESSIONS"
    )
    assert await core.claim("a2", "gw-a") == "TOO_MANY_SESSIONS"
    # Another login has its own count (no limit: 0).
    assert await core.claim("o1", "gw-a", login="other") == 1
    assert await core.release("a1", "never-claimed") == 1
    assert await core.release("a1") == 0  # released once
    assert await core.claim("b2", "gw-b") == 2
    rows = await core.execute(
        "SELECT session_id, login, gateway_id, mode FROM smpp_sessions ORDER BY session_id"
    )
    assert rows == [
        ("b1", "acme", "gw-b", "receiver"),
        ("b2", "acme", "gw-b", "transceiver"),
        ("o1", "other", "gw-a", "transceiver"),
    ]


async def test_the_refusal_is_resource_exhausted_with_the_catalogue_reason(core: Core) -> None:
    await core.claim("a1")
    await core.claim("a2")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await core.stub.ClaimSmppSession(
            auth.ClaimSmppSessionRequest(login="acme", session_id="a3", gateway_id="gw-a", mode=TRX)
        )
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(caught.value) == "TOO_MANY_SESSIONS"
    assert "2 SMPP sessions" in (caught.value.details() or "")


async def test_zero_means_no_limit(core: Core) -> None:
    await core.execute("UPDATE partners SET max_smpp_sessions = 0 WHERE login = 'acme'")
    for n in range(1, 8):
        assert await core.claim(f"s{n}", f"gw-{n % 3}") == n


async def test_unknown_login_and_bad_requests_are_refused(core: Core) -> None:
    assert await core.claim("x1", login="nobody") == "INVALID_LOGIN"
    assert await core.claim("") == "INVALID_REQUEST"
    assert await core.claim("x1", gateway_id="") == "INVALID_REQUEST"
    assert await core.claim("x1", mode=auth.SMPP_BIND_MODE_UNSPECIFIED) == "INVALID_REQUEST"
    assert await core.claim("x1", lease=duration_pb2.Duration(seconds=3601)) == "INVALID_REQUEST"
    assert await core.claim("x1", lease=duration_pb2.Duration(seconds=-1)) == "INVALID_REQUEST"
    # A session id another gateway holds is not taken over.
    assert await core.claim("x1", "gw-a") == 1
    assert await core.claim("x1", "gw-b") == "INVALID_REQUEST"
    assert await core.execute("SELECT gateway_id FROM smpp_sessions") == [("gw-a",)]


async def test_a_repeated_claim_keeps_its_slot_and_a_lowered_limit_closes_nothing(
    core: Core,
) -> None:
    assert await core.claim("a1") == 1
    assert await core.claim("a2") == 2
    assert await core.claim("a2") == 2  # the claim again (a retry): granted, counted once
    await core.execute("UPDATE partners SET max_smpp_sessions = 1 WHERE login = 'acme'")
    assert await core.claim("a1") == 2  # still holds its slot
    assert await core.renew("gw-a", "a1", "a2") == []
    assert await core.claim("a3") == "TOO_MANY_SESSIONS"
    await core.release("a1")
    assert await core.claim("a3") == "TOO_MANY_SESSIONS"  # a2 still counts
    await core.release("a2")
    assert await core.claim("a3") == 1


async def test_an_ended_lease_frees_the_slot_and_renewal_does_not_revive_it(core: Core) -> None:
    assert await core.claim("a1", "gw-a") == 1
    assert await core.claim("a2", "gw-a") == 2
    await core.expire("a1")  # gw-a stopped renewing a1 (say it died, or core was away)
    assert await core.claim("b1", "gw-b") == 2  # its slot is free
    # The late renewal names a1: not renewed (it would be a third), claimable when free.
    assert await core.renew("gw-a", "a1", "a2") == ["a1"]
    assert await core.claim("a1", "gw-a") == "TOO_MANY_SESSIONS"
    await core.release("b1")
    assert await core.claim("a1", "gw-a") == 2
    assert await core.renew("gw-a", "a1", "a2") == []


async def test_renewal_extends_only_the_gateways_live_sessions(core: Core) -> None:
    await core.claim("a1", "gw-a", lease=duration_pb2.Duration(seconds=5))
    await core.claim("b1", "gw-b", lease=duration_pb2.Duration(seconds=5))
    unknown = await core.renew("gw-a", "a1", "b1", "never", "a1")
    assert unknown == ["b1", "never"]
    rows = dict(
        await core.execute(
            "SELECT session_id, expires_at - now() > interval '30 seconds' FROM smpp_sessions"
        )
    )
    assert rows == {"a1": True, "b1": False}
    assert await core.renew("gw-a") == []  # nothing to renew: fine


async def test_expired_rows_do_not_count_and_maintenance_deletes_them(
    core: Core, pool: Any, database_url: str
) -> None:
    await core.claim("a1", "gw-a")
    await core.claim("a2", "gw-a")
    await core.claim("o1", "gw-a", login="other")
    await core.expire("a1", "a2")
    assert await core.claim("b1", "gw-b") == 1
    await maintenance.run_once(pool, CoreSettings(database_url=database_url))
    rows = await core.execute("SELECT session_id FROM smpp_sessions ORDER BY 1")
    assert rows == [("b1",), ("o1",)]


async def test_a_tiny_lease_ends_by_itself(core: Core) -> None:
    tiny = duration_pb2.Duration(nanos=200_000_000)
    assert await core.claim("a1", "gw-a", lease=tiny) == 1
    assert await core.claim("a2", "gw-a", lease=tiny) == 2
    assert await core.claim("b1", "gw-b") == "TOO_MANY_SESSIONS"
    await asyncio.sleep(0.3)
    assert await core.claim("b1", "gw-b") == 1


async def test_concurrent_claims_for_the_last_slot_grant_exactly_one(
    core: Core, database_url: str
) -> None:
    await core.execute("UPDATE partners SET max_smpp_sessions = 3 WHERE login = 'acme'")
    assert await core.claim("a1", "gw-a") == 1
    assert await core.claim("a2", "gw-a") == 2
    # A core with a connection for each claim, open before they come: they do run at once.
    wide = await open_pool(database_url, min_size=12, max_size=12)
    server = await start_server(
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(wide), s)
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    try:
        racing = Core(auth_service_pb2_grpc.AuthServiceStub(channel), database_url)
        results = await asyncio.gather(*(racing.claim(f"race{n}", f"gw-{n}") for n in range(12)))
    finally:
        await channel.close()
        await server.stop(0)
        await wide.close()
    assert sorted(map(str, results)) == ["3"] + ["TOO_MANY_SESSIONS"] * 11
    assert await core.execute("SELECT count(*) FROM smpp_sessions WHERE login = 'acme'") == [(3,)]


async def test_renewal_waits_for_a_claim_of_the_same_login(core: Core, database_url: str) -> None:
    """Renewals take the login's lock before comparing leases with the time: a claim that
    counted a lease as ended cannot see it revived behind its back."""
    assert await core.claim("a1", "gw-a") == 1
    async with await psycopg.AsyncConnection.connect(database_url) as claiming:
        await locks.lock(claiming, locks.LockSpace.SMPP_SESSIONS, "acme")
        renewal = asyncio.create_task(core.renew("gw-a", "a1"))
        await asyncio.sleep(0.3)
        assert not renewal.done()
        await claiming.commit()
    assert await renewal == []


async def test_storage_renew_reports_unknown_ids_in_order(pool: Any) -> None:
    async with pool.connection() as conn:
        await partners.upsert(conn, "acme", "pw")
    async with pool.connection() as conn, conn.transaction():
        claim = await smpp_sessions.claim(
            conn,
            login="acme",
            session_id="s1",
            gateway_id="g",
            mode="transmitter",
            lease=dt.timedelta(seconds=30),
        )
        assert claim == smpp_sessions.Claim(granted=True, bound=1, limit=0)
        unknown = await smpp_sessions.renew(
            conn, "g", ["z", "s1", "y", "z"], dt.timedelta(seconds=30)
        )
    assert unknown == ["z", "y"]
