"""Provider faults for WhatsApp and Telegram over real sockets and processes (docs/whatsapp.md):
a revoked access token, HTTP 500, a rate-limit refusal (429 with Retry-After: the Cloud API's
code 130429, Telegram's FLOOD_WAIT) and a provider that holds the call past the messenger
service's timeout are all RETRY: the message stays queued, is sent again with the
dispatcher's backoff, and once the provider is well it reaches the subscriber exactly once
and DELIVERED then READ reach the partner once each. (Forged and replayed webhooks:
tests/e2e/test_whatsapp.py, test_telegram.py, test_messenger_replies.py.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.installation import Installation, http, wait_until
from tests.e2e.push_stand_in import ReportSink
from tests.e2e.test_telegram import telegram_env, telegram_message
from tests.e2e.test_viber import _listening, _ports, reports, send, v6_send
from tests.e2e.test_whatsapp import whatsapp_env, whatsapp_message

pytestmark = pytest.mark.e2e
TOKEN_N, ERROR_N, THROTTLED_N, SLOW_N = "79170000041", "79170000042", "79170000043", "79170000044"
FAULTY = {ERROR_N: "error", THROTTLED_N: "throttled", SLOW_N: "slow"}


class Sims:
    def __init__(self, wa_port: int, tg_port: int) -> None:
        self.url = {
            "whatsapp": f"http://127.0.0.1:{wa_port}",
            "telegram": f"http://127.0.0.1:{tg_port}",
        }

    async def call(self, channel: str, method: str, path: str, doc: Any = None) -> Any:
        code, answer = await asyncio.to_thread(http, method, self.url[channel] + path, doc)
        assert code == 200, answer
        return answer


@pytest.fixture(name="wa_tg")
async def wa_tg_rig(
    installation: Installation,
) -> AsyncIterator[tuple[Installation, Sims, ReportSink]]:
    sink = ReportSink()
    await sink.start()
    grpc_port, webhook_port, wa_port, tg_port = _ports(installation, 4)
    outcomes = ",".join(f"{n}={o}" for n, o in FAULTY.items())
    installation.extra_env.update(
        {
            "RCS_MESSENGERS_TARGET": f"127.0.0.1:{grpc_port}",
            "RCS_MESSENGERS_INTERFACE_ID": "messengers-main",
            "RCS_MESSENGERS_BIND": f"127.0.0.1:{grpc_port}",
            "RCS_MESSENGERS_WEBHOOK_PORT": str(webhook_port),
            "RCS_VIBER_AUTH_TOKEN": "unused-viber-token",
            **whatsapp_env(webhook_port, wa_port),
            **telegram_env(webhook_port, tg_port),
            "RCS_WHATSAPP_SIM_OUTCOMES": outcomes,
            "RCS_WHATSAPP_SIM_OPEN_SESSIONS": "*",
            "RCS_TELEGRAM_SIM_OUTCOMES": outcomes,
            # Providers post webhooks again for long (WhatsApp: days); a messenger service
            # killed and restarting on a busy box takes more than the default 10 s.
            "RCS_WHATSAPP_SIM_CALLBACK_ATTEMPTS": "240",
            "RCS_TELEGRAM_SIM_CALLBACK_ATTEMPTS": "240",
            "RCS_WHATSAPP_TIMEOUT_SECONDS": "1",
            "RCS_TELEGRAM_TIMEOUT_SECONDS": "1",
            "RCS_REPORT_RETRY_BASE_SECONDS": "0.5",
        }
    )
    try:
        installation.start()
        installation.start("whatsapp-simulator", "telegram-simulator", "messengers")
        await asyncio.to_thread(installation.wait_ready, 120)
        for port in (wa_port, tg_port, webhook_port, grpc_port):
            assert await wait_until(lambda p=port: _listening(p), within=30), installation.logs()
        yield installation, Sims(wa_port, tg_port), sink
    finally:
        await sink.stop()


def _message(channel: str, text: str) -> dict[str, Any]:
    if channel == "whatsapp":
        return whatsapp_message("TEXT", {"text": text})
    return telegram_message({"text": text})


def _to(channel: str, sent: dict[str, Any]) -> str:
    return str(sent["to"] if channel == "whatsapp" else sent["phone_number"]).removeprefix("+")


@pytest.mark.parametrize("channel", ["whatsapp", "telegram"])
async def test_provider_faults_are_retried_and_each_message_reaches_the_subscriber_once(
    wa_tg: tuple[Installation, Sims, ReportSink], channel: str
) -> None:
    inst, sims, sink = wa_tg
    kind = channel.upper()

    async def faults(number: str = "") -> list[str]:
        got = await sims.call(channel, "GET", "/sim/faults")
        return [f["fault"] for f in got if f["to"] == number]

    # Revoked credentials: every call refused (401) until the token is back.
    await sims.call(channel, "POST", "/sim/token", {"token": "revoked"})
    code, answer = await send(inst, v6_send(TOKEN_N, _message(channel, "t"), sink, "f-token"))
    assert code == 200, answer
    mt_nums = {TOKEN_N: str(answer["mtNum"])}
    for number in FAULTY:
        code, answer = await send(inst, v6_send(number, _message(channel, number), sink, number))
        assert code == 200, answer
        mt_nums[number] = str(answer["mtNum"])

    async def refused_again() -> bool:
        return len(await faults()) >= 2

    assert await wait_until_async(refused_again, within=30), inst.logs()
    token = "wa-test-token" if channel == "whatsapp" else "tg-test-token"  # the rig's
    await sims.call(channel, "POST", "/sim/token", {"token": token})

    # Throttled (429 + Retry-After) and slow (past the 1 s timeout): each refused again
    # and again; HTTP 500 alike. Nothing reached a subscriber meanwhile.
    async def tried_twice() -> bool:
        counts = [len(await faults(n)) for n in (THROTTLED_N, SLOW_N)]
        return min(counts) >= 2

    assert await wait_until_async(tried_twice, within=60), inst.logs()
    sent = await sims.call(channel, "GET", "/sim/messages")
    assert [_to(channel, s) for s in sent] == [TOKEN_N]
    assert not reports(sink, mt_nums[ERROR_N])

    # The provider is well again: every message goes, once, and is read.
    await sims.call(channel, "POST", "/sim/outcomes", dict.fromkeys(FAULTY, "read"))

    def all_read() -> bool:
        return all(len(reports(sink, m)) >= 2 for m in mt_nums.values())

    assert await wait_until(all_read, within=60), (sink.reports, inst.logs())
    await asyncio.sleep(2)  # a wrongly repeated send would have a status by now
    sent = await sims.call(channel, "GET", "/sim/messages")
    assert Counter(_to(channel, s) for s in sent) == Counter(list(mt_nums))
    for mt in mt_nums.values():
        assert reports(sink, mt) == [(kind, 2, "0"), (kind, 9, "0")]


async def wait_until_async(check: Any, within: float) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.3)
    return False
