"""The messenger service's ConnectorService against the Viber simulator over real HTTP:
what each provider answer becomes (ACCEPTED with the token, RETRY, REJECTED with its code)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from rcs.common.v1 import channel_pb2, message_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_messengers.servicer import ViberConnectorServicer
from rcs_simulators.viber.app import build_app
from rcs_simulators.viber.provider import Account
from tests.conftest import free_port

TOKEN = "tok"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[Account, str]]:
    account = Account(
        token=TOKEN,
        webhook_url="",
        default_outcome="delivered",
        outcomes={"79990000001": "error", "79990000002": "unsubscribed"},
        deliver_delay=0.01,
        seen_delay=0.01,
        retry_seconds=0.1,
        attempts=1,
    )
    runner = web.AppRunner(build_app(account))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield account, f"http://127.0.0.1:{port}"
    finally:
        await account.close()
        await runner.cleanup()


def _message(mid: str, number: str) -> cs.OutboundMessage:
    return cs.OutboundMessage(
        message_id=mid,
        destination=number,
        channel=channel_pb2.CHANNEL_VIBER,
        viber=message_pb2.ViberContent(text="hi", service_number="RCS"),
    )


async def _send(url: str, token: str, *messages: cs.OutboundMessage) -> list[Any]:
    async with httpx.AsyncClient(timeout=2) as http:
        servicer = ViberConnectorServicer(http, url, token, "viber-main", 10)
        response = await servicer.SendMessages(cs.SendMessagesRequest(messages=messages), None)  # type: ignore[arg-type]
        again = await servicer.SendMessages(cs.SendMessagesRequest(messages=messages[:1]), None)  # type: ignore[arg-type]
    return [*response.results, *again.results]


async def test_provider_answers_become_accepted_retry_or_rejected(
    sim: tuple[Account, str],
) -> None:
    account, url = sim
    ok, error, unsubscribed, repeated = await _send(
        url,
        TOKEN,
        _message("1", "79990000000"),
        _message("2", "79990000001"),
        _message("3", "79990000002"),
    )
    assert ok.outcome == cs.SEND_OUTCOME_ACCEPTED
    assert ok.receipt_scope == "viber-main"
    assert list(ok.operator_message_ids) == [str(account.received[0]["message_token"])]
    # The dispatcher retrying a call whose answer it lost: the same token, not sent again.
    assert (repeated.outcome, list(repeated.operator_message_ids)) == (
        cs.SEND_OUTCOME_ACCEPTED,
        list(ok.operator_message_ids),
    )
    assert len(account.received) == 1
    assert (error.outcome, error.detail) == (cs.SEND_OUTCOME_RETRY, "viber_http_500")
    assert (unsubscribed.outcome, unsubscribed.error_code) == (cs.SEND_OUTCOME_REJECTED, 6)


async def test_a_refused_token_or_an_unreachable_provider_is_retried(
    sim: tuple[Account, str],
) -> None:
    account, url = sim
    refused, *_ = await _send(url, "revoked", _message("1", "79990000000"))
    assert (refused.outcome, refused.detail) == (
        cs.SEND_OUTCOME_RETRY,
        "viber_status_2_invalidAuthToken",
    )
    gone, *_ = await _send(f"http://127.0.0.1:{free_port()}", TOKEN, _message("2", "79990000000"))
    assert (gone.outcome, gone.detail) == (cs.SEND_OUTCOME_RETRY, "viber_unreachable")
    assert account.received == []
