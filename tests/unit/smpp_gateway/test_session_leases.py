"""The SMPP gateway's side of the session slots core counts over every gateway: claimed at
bind, renewed for all sessions in one call, released before unbind_resp, on a dropped
connection and at stop; kept bound while core is away; claimed again when core no longer
counts them. A fake AuthService behind real gRPC, and rcs_smpp's own session as the ESME."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from gateways.smpp.server import SmppGateway
from gateways.smpp.settings import SmppGatewaySettings
from rcs.core.v1 import auth_service_pb2 as auth
from rcs.core.v1 import auth_service_pb2_grpc
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.grpc_server import GrpcServer
from rcs_smpp import pdu as p
from rcs_smpp.session import SmppSession
from tests.unit.rest.fakes import Ctx, FakeAuth

LEASE = 0.3  # renewed every 0.1 s


class SessionsCore(FakeAuth):
    """Counts claims itself (``limit``), can be away (``down``) or forget sessions."""

    def __init__(self) -> None:
        super().__init__({"acme": "pw"})
        self.limit = 0
        self.down = False
        self.held: dict[str, auth.ClaimSmppSessionRequest] = {}
        self.claims: list[auth.ClaimSmppSessionRequest] = []
        self.renewals: list[auth.RenewSmppSessionsRequest] = []
        self.releases: list[list[str]] = []

    async def ClaimSmppSession(
        self, request: auth.ClaimSmppSessionRequest, context: Ctx
    ) -> auth.ClaimSmppSessionResponse:
        self.claims.append(request)
        if self.down:
            raise RcsError(Reason.SERVICE_UNAVAILABLE)
        if self.limit and len(self.held) >= self.limit and request.session_id not in self.held:
            raise RcsError(Reason.TOO_MANY_SESSIONS, "at the limit")
        self.held[request.session_id] = request
        return auth.ClaimSmppSessionResponse(
            bound_sessions=len(self.held), max_smpp_sessions=self.limit
        )

    async def RenewSmppSessions(
        self, request: auth.RenewSmppSessionsRequest, context: Ctx
    ) -> auth.RenewSmppSessionsResponse:
        self.renewals.append(request)
        if self.down:
            raise RcsError(Reason.SERVICE_UNAVAILABLE)
        return auth.RenewSmppSessionsResponse(
            unknown_session_ids=[s for s in request.session_ids if s not in self.held]
        )

    async def ReleaseSmppSessions(
        self, request: auth.ReleaseSmppSessionsRequest, context: Ctx
    ) -> auth.ReleaseSmppSessionsResponse:
        self.releases.append(list(request.session_ids))
        for session_id in request.session_ids:
            self.held.pop(session_id, None)
        return auth.ReleaseSmppSessionsResponse(released_count=len(request.session_ids))


class Rig:
    def __init__(self, core: SessionsCore, gateway: SmppGateway, port: int) -> None:
        self.core = core
        self.gateway = gateway
        self.port = port
        self.esmes: list[SmppSession] = []

    async def bind(self) -> tuple[int, SmppSession]:
        """(bind_transmitter_resp's status, the ESME's session)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)

        async def nothing(request: p.Pdu) -> p.Pdu | None:
            return p.make_response(request)

        esme = SmppSession(reader, writer, nothing, enquire_link_interval=None, name="esme")
        esme.start()
        self.esmes.append(esme)
        resp = await esme.send_request(p.BindTransmitter(system_id="acme", password="pw"))
        return resp.command_status, esme


async def eventually(check: Callable[[], bool], seconds: float = 3.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within the time")


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    core = SessionsCore()
    server = GrpcServer("127.0.0.1:0")
    auth_service_pb2_grpc.add_AuthServiceServicer_to_server(core, server.server)
    await server.start()
    channel = open_channel(f"127.0.0.1:{server.port}")
    gateway = SmppGateway(
        SmppGatewaySettings(smpp_port=0, smpp_session_lease_seconds=LEASE, rpc_timeout_seconds=2),
        channel,
        gateway_id="gw-test",
    )
    rig = Rig(core, gateway, await gateway.start())
    yield rig
    for esme in rig.esmes:
        await esme.close()
    await gateway.stop()
    await channel.close()
    await server.stop(0)


def renewed_ids(core: SessionsCore) -> list[list[str]]:
    return [sorted(r.session_ids) for r in core.renewals]


async def test_a_bind_claims_a_slot_and_all_are_renewed_in_one_call(rig: Rig) -> None:
    (s1, _), (s2, _) = await rig.bind(), await rig.bind()
    assert (s1, s2) == (0, 0)
    claims = rig.core.claims
    assert [(c.login, c.gateway_id, c.mode) for c in claims] == [
        ("acme", "gw-test", auth.SMPP_BIND_MODE_TRANSMITTER)
    ] * 2
    assert claims[0].lease.ToTimedelta().total_seconds() == LEASE
    ids = sorted(c.session_id for c in claims)
    assert len(set(ids)) == 2
    await eventually(lambda: ids in renewed_ids(rig.core))
    renewal = rig.core.renewals[-1]
    assert renewal.gateway_id == "gw-test"
    assert renewal.lease.ToTimedelta().total_seconds() == LEASE


async def test_core_refusing_the_claim_refuses_the_bind(rig: Rig) -> None:
    rig.core.limit = 1
    assert (await rig.bind())[0] == 0
    assert (await rig.bind())[0] == 0x05  # TOO_MANY_SESSIONS
    rig.core.down = True
    assert (await rig.bind())[0] == 0x08  # core away (credentials cached, claim fails)
    rig.core.down = False
    await asyncio.sleep(LEASE)
    # Refused claims are not renewed.
    assert all(len(r.session_ids) == 1 for r in rig.core.renewals)


async def test_unbind_releases_before_unbind_resp_and_a_drop_releases_too(rig: Rig) -> None:
    (_, first), (_, second) = await rig.bind(), await rig.bind()
    one, two = (c.session_id for c in rig.core.claims)
    await first.unbind(response_timeout=2)
    assert rig.core.releases == [[one]]  # already when unbind_resp came
    await second.close()  # no unbind: the connection drops
    await eventually(lambda: rig.core.releases == [[one], [two]])
    assert rig.core.held == {}
    rig.core.renewals.clear()
    await asyncio.sleep(LEASE)
    assert rig.core.renewals == []  # nothing held: nothing renewed


async def test_core_away_keeps_sessions_bound_and_renewal_is_retried(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateways.smpp.server")
    _, esme = await rig.bind()
    rig.core.down = True
    failed_from = len(rig.core.renewals)
    await asyncio.sleep(4 * LEASE)
    assert len(rig.core.renewals) - failed_from >= 3  # retried
    assert not esme.closed
    assert isinstance(await esme.send_request(p.EnquireLink()), p.EnquireLinkResp)
    assert "smpp_session_renew_failed" in caplog.messages
    rig.core.down = False
    await eventually(lambda: len(rig.core.renewals) > failed_from + 4)
    assert not esme.closed


async def test_a_session_core_forgot_is_claimed_again_and_kept_bound_until_a_slot_is_free(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateways.smpp.server")
    rig.core.limit = 1
    _, esme = await rig.bind()
    (claim,) = rig.core.claims
    # Its lease ended (core was away longer than it) and another gateway took the slot.
    rig.core.held = {"elsewhere": auth.ClaimSmppSessionRequest(session_id="elsewhere")}
    await eventually(lambda: len(rig.core.claims) >= 3)
    again = rig.core.claims[1:]
    assert {(c.session_id, c.mode, c.gateway_id) for c in again} == {
        (claim.session_id, claim.mode, "gw-test")
    }
    assert "smpp_session_not_counted" in caplog.messages
    assert not esme.closed
    # The other session ends: the next renewal counts this one again.
    rig.core.held = {}
    await eventually(lambda: "smpp_session_lease_lost_and_claimed_again" in caplog.messages)
    assert set(rig.core.held) == {claim.session_id}
    claims_now = len(rig.core.claims)
    await asyncio.sleep(LEASE)
    assert len(rig.core.claims) == claims_now  # known again: renewed, not claimed
    assert not esme.closed


async def test_stop_releases_every_slot_in_one_call(rig: Rig) -> None:
    await rig.bind()
    await rig.bind()
    ids = sorted(c.session_id for c in rig.core.claims)
    await rig.gateway.stop()
    assert [sorted(r) for r in rig.core.releases] == [ids]
