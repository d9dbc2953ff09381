"""A fake core behind a real grpc.aio server: records calls, hands out ids, raises RcsError."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from rcs.common.v1 import channel_pb2, message_pb2, status_pb2
from rcs.core.v1 import (
    auth_service_pb2,
    auth_service_pb2_grpc,
    message_service_pb2,
    message_service_pb2_grpc,
)
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.grpc_server import GrpcServer

Ctx = grpc.aio.ServicerContext[Any, Any]
FIRST_ID = 1024000007


def ts(seconds: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds)


class FakeAuth(auth_service_pb2_grpc.AuthServiceServicer):
    """Knows the partners in ``passwords``; ``delay`` slows every answer down."""

    def __init__(self, passwords: dict[str, str]) -> None:
        self.passwords = passwords
        self.calls: list[auth_service_pb2.AuthenticatePartnerRequest] = []
        self.delay = 0.0

    async def AuthenticatePartner(
        self, request: auth_service_pb2.AuthenticatePartnerRequest, context: Ctx
    ) -> auth_service_pb2.AuthenticatePartnerResponse:
        self.calls.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.login not in self.passwords:
            raise RcsError(Reason.INVALID_LOGIN, "unknown login")
        if self.passwords[request.login] != request.password:
            raise RcsError(Reason.INVALID_PASSWORD, "wrong password for this login")
        return auth_service_pb2.AuthenticatePartnerResponse(
            login=request.login, default_ttl_seconds=3600
        )

    async def AuthenticateAdmin(
        self, request: auth_service_pb2.AuthenticateAdminRequest, context: Ctx
    ) -> auth_service_pb2.AuthenticateAdminResponse:
        """No administrators in these tests (tests/integration/test_admin_api.py has them)."""
        raise RcsError(Reason.INVALID_LOGIN, "unknown administrator")

    async def AuthenticateApiKey(
        self, request: auth_service_pb2.AuthenticateApiKeyRequest, context: Ctx
    ) -> auth_service_pb2.AuthenticateApiKeyResponse:
        """No API keys in these tests (tests/integration/test_batch_v3.py has them)."""
        raise RcsError(Reason.INVALID_PASSWORD, "unknown or revoked API key")

    async def ClaimSmppSession(
        self, request: auth_service_pb2.ClaimSmppSessionRequest, context: Ctx
    ) -> auth_service_pb2.ClaimSmppSessionResponse:
        raise RcsError(Reason.INTERNAL, "not used by the REST gateway")

    async def RenewSmppSessions(
        self, request: auth_service_pb2.RenewSmppSessionsRequest, context: Ctx
    ) -> auth_service_pb2.RenewSmppSessionsResponse:
        raise RcsError(Reason.INTERNAL, "not used by the REST gateway")

    async def ReleaseSmppSessions(
        self, request: auth_service_pb2.ReleaseSmppSessionsRequest, context: Ctx
    ) -> auth_service_pb2.ReleaseSmppSessionsResponse:
        raise RcsError(Reason.INTERNAL, "not used by the REST gateway")

    async def GetAuthRevision(
        self, request: auth_service_pb2.GetAuthRevisionRequest, context: Ctx
    ) -> auth_service_pb2.GetAuthRevisionResponse:
        """The settings never change in these tests."""
        return auth_service_pb2.GetAuthRevisionResponse(settings_revision=1)

    async def CheckSmppSessions(
        self, request: auth_service_pb2.CheckSmppSessionsRequest, context: Ctx
    ) -> auth_service_pb2.CheckSmppSessionsResponse:
        """Every session stays allowed (the settings never change here)."""
        return auth_service_pb2.CheckSmppSessionsResponse()


class FakeMessages(message_service_pb2_grpc.MessageServiceServicer):
    """Accepts every submission (or refuses it with ``refuse``); a repeated client_ref
    gets the first id back, as core does. Accepted messages can be read with GetMessage."""

    def __init__(self, partners: set[str]) -> None:
        self.partners = partners
        self.submits: list[message_service_pb2.SubmitMessagesRequest] = []
        self.gets: list[message_service_pb2.GetMessageRequest] = []
        self.stored: dict[str, message_pb2.Message] = {}
        self.refs: dict[tuple[str, str], str] = {}
        self.refuse: message_service_pb2.SubmitError | None = None
        self.next_id = FIRST_ID

    @property
    def received(self) -> list[message_service_pb2.MessageSubmission]:
        return [m for r in self.submits for m in r.messages]

    def _accept(self, partner: str, sub: message_service_pb2.MessageSubmission) -> str:
        message_id = str(self.next_id)
        self.next_id += 1024
        self.stored[message_id] = message_pb2.Message(
            id=message_id,
            partner=partner,
            client_ref=sub.client_ref,
            destination=sub.destination,
            channel=channel_pb2.CHANNEL_SMS,
            sms=sub.sms,
            status=status_pb2.MESSAGE_STATUS_ACCEPTED,
            create_time=ts(1_700_000_000),
            history=[
                status_pb2.StatusEvent(
                    message_id=message_id,
                    status=status_pb2.MESSAGE_STATUS_ACCEPTED,
                    time=ts(1_700_000_000),
                )
            ],
        )
        return message_id

    async def SubmitMessages(
        self, request: message_service_pb2.SubmitMessagesRequest, context: Ctx
    ) -> message_service_pb2.SubmitMessagesResponse:
        self.submits.append(request)
        if request.partner not in self.partners:
            raise RcsError(Reason.INVALID_LOGIN, "no such partner")
        results = []
        for sub in request.messages:
            if self.refuse is not None:
                results.append(message_service_pb2.SubmitResult(error=self.refuse))
                continue
            key = (request.partner, sub.client_ref)
            if sub.client_ref and key in self.refs:
                results.append(
                    message_service_pb2.SubmitResult(message_id=self.refs[key], duplicate=True)
                )
                continue
            message_id = self._accept(request.partner, sub)
            if sub.client_ref:
                self.refs[key] = message_id
            results.append(message_service_pb2.SubmitResult(message_id=message_id))
        return message_service_pb2.SubmitMessagesResponse(results=results)

    async def GetMessage(
        self, request: message_service_pb2.GetMessageRequest, context: Ctx
    ) -> message_service_pb2.GetMessageResponse:
        self.gets.append(request)
        found = self.stored.get(request.message_id)
        if found is None or (request.partner and found.partner != request.partner):
            raise RcsError(Reason.NOT_FOUND, f"no message {request.message_id} for this login")
        return message_service_pb2.GetMessageResponse(message=found)

    async def ListMessages(
        self, request: message_service_pb2.ListMessagesRequest, context: Ctx
    ) -> message_service_pb2.ListMessagesResponse:
        raise RcsError(Reason.INTERNAL, "not used by the REST gateway")

    async def StreamStatusEvents(
        self, request: message_service_pb2.StreamStatusEventsRequest, context: Ctx
    ) -> AsyncIterator[message_service_pb2.StreamStatusEventsResponse]:
        raise RcsError(Reason.INTERNAL, "not used by the REST gateway")
        yield  # pragma: no cover

    async def SubmitPart(
        self, request: message_service_pb2.SubmitPartRequest, context: Ctx
    ) -> message_service_pb2.SubmitPartResponse:
        raise RcsError(Reason.INTERNAL, "not used by the REST gateway")


class FakeCore:
    """Both services on one real in-process gRPC server on 127.0.0.1, port 0."""

    def __init__(self, passwords: dict[str, str]) -> None:
        self.auth = FakeAuth(passwords)
        self.messages = FakeMessages(set(passwords))
        self.server = GrpcServer("127.0.0.1:0")
        auth_service_pb2_grpc.add_AuthServiceServicer_to_server(self.auth, self.server.server)
        message_service_pb2_grpc.add_MessageServiceServicer_to_server(
            self.messages, self.server.server
        )

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"
