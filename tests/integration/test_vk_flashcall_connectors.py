"""The messenger service's VK and FlashingCall senders against their simulators over real
HTTP: what each provider answer becomes (ACCEPTED with the provider's id, RETRY, REJECTED
with its extended code), and a repeated message is not sent again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from rcs.common.v1 import channel_pb2, message_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_messengers.flashcall import FlashcallSender
from rcs_messengers.vk import VkSender
from rcs_simulators.flashcall import app as fc_app
from rcs_simulators.flashcall.provider import Provider
from rcs_simulators.vk import app as vk_app
from rcs_simulators.vk.community import Community
from tests.conftest import free_port

pytestmark = pytest.mark.integration


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def vk() -> AsyncIterator[tuple[Community, str]]:
    community = Community(
        token="tok",
        group_id=7,
        callback_url="",
        secret="s",
        default_outcome="delivered",
        outcomes={"79990000001": "error", "79990000002": "inactive", "79990000003": "barred"},
        rate_per_second=3,
        daily_per_user=5,
        deliver_delay=0.01,
        read_delay=0.01,
        retry_seconds=0.1,
        attempts=1,
    )
    runner, url = await _serve(vk_app.build_app(community))
    try:
        yield community, url
    finally:
        await community.close()
        await runner.cleanup()


@pytest.fixture
async def fc() -> AsyncIterator[tuple[Provider, str]]:
    provider = Provider(
        key="key",
        callback_url="",
        callback_key="cb",
        number_prefix="7800100",
        default_outcome="rings",
        outcomes={"79990000001": "error", "79990000002": "invalid"},
        ring_delay=0.01,
        retry_seconds=0.1,
        attempts=1,
    )
    runner, url = await _serve(fc_app.build_app(provider))
    try:
        yield provider, url
    finally:
        await provider.close()
        await runner.cleanup()


def _message(mid: str, number: str, channel: int, text: str = "привет 1234") -> Any:
    return cs.OutboundMessage(
        message_id=mid,
        destination=number,
        channel=channel,  # type: ignore[arg-type]
        sms=message_pb2.SmsContent(text=text, sender="grp"),
    )


def _outcome(r: cs.SendResult) -> tuple[int, int]:
    return r.outcome, r.error_code


async def test_vk_answers_become_accepted_retry_or_rejected(vk: tuple[Community, str]) -> None:
    community, url = vk
    vk_ch = channel_pb2.CHANNEL_VK
    async with httpx.AsyncClient(timeout=2) as http:
        send = VkSender(http, url, "tok", 7, "msg", 10)
        ok = await send(_message("1", "79990000000", vk_ch))
        assert ok.outcome == cs.SEND_OUTCOME_ACCEPTED
        assert list(ok.operator_message_ids) == ["vk-1"]
        assert ok.receipt_scope == "msg"
        # The dispatcher repeating a call whose answer it lost: VK's random_id keeps it once.
        again = await send(_message("1", "79990000000", vk_ch))
        assert list(again.operator_message_ids) == ["vk-1"]
        assert [m["random_id"] for m in community.received] == ["1"]
        assert _outcome(await send(_message("2", "79990000001", vk_ch))) == (
            cs.SEND_OUTCOME_RETRY,
            0,
        )
        assert _outcome(await send(_message("3", "79990000002", vk_ch))) == (
            cs.SEND_OUTCOME_REJECTED,
            6,
        )
        assert _outcome(await send(_message("4", "79990000003", vk_ch))) == (
            cs.SEND_OUTCOME_REJECTED,
            3,
        )
        # Over the community's per-second limit (3 here): RETRY, the message stays queued.
        burst = [await send(_message(str(10 + n), "79990000009", vk_ch)) for n in range(3)]
        assert [r.outcome for r in burst].count(cs.SEND_OUTCOME_RETRY) >= 1
        assert "vk_error_6" in next(r.detail for r in burst if r.outcome == cs.SEND_OUTCOME_RETRY)
        # A refused token is ours to fix: RETRY, nothing lost.
        wrong = VkSender(http, url, "not-the-token", 7, "msg", 10)
        refused = await wrong(_message("20", "79990000000", vk_ch))
        assert (refused.outcome, refused.detail.startswith("vk_error_5")) == (
            cs.SEND_OUTCOME_RETRY,
            True,
        )


async def test_flashcall_answers_become_accepted_retry_or_rejected(
    fc: tuple[Provider, str],
) -> None:
    provider, url = fc
    fc_ch = channel_pb2.CHANNEL_FLASH_CALL
    async with httpx.AsyncClient(timeout=2) as http:
        send = FlashcallSender(http, url, "key", "msg", 10)
        ok = await send(_message("1", "79990000000", fc_ch, "Ваш код 552211"))
        assert (ok.outcome, list(ok.operator_message_ids)) == (cs.SEND_OUTCOME_ACCEPTED, ["fc-1"])
        again = await send(_message("1", "79990000000", fc_ch, "Ваш код 552211"))
        assert list(again.operator_message_ids) == ["fc-1"]
        (call,) = provider.calls
        assert (call["code"], call["from"], call["externalId"]) == ("552211", "7800100552211", "1")
        assert call["timeout"] == 300_000  # no validity given: the longest wait
        assert _outcome(await send(_message("2", "79990000001", fc_ch))) == (
            cs.SEND_OUTCOME_RETRY,
            0,
        )
        assert _outcome(await send(_message("3", "79990000002", fc_ch))) == (
            cs.SEND_OUTCOME_REJECTED,
            6,
        )
        wrong = FlashcallSender(http, url, "nope", "msg", 10)
        assert (await wrong(_message("4", "79990000000", fc_ch))).outcome == cs.SEND_OUTCOME_RETRY
