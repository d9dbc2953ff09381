"""A provider's 429 with Retry-After over real sockets and processes (issue 17): the
messenger service passes the hint to core (SendResult.retry_after) and the dispatcher does
not call the provider for that message again before it, in both of the header's forms
(delay-seconds, HTTP-date), while its own backoff here is 0.2–1 s; a hint past the
message's validity leaves it queued until then, and it expires without another call."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest

from tests.e2e.installation import Installation, wait_until
from tests.e2e.push_stand_in import ReportSink
from tests.e2e.test_messenger_faults import THROTTLED_N, Sims, _to, wa_tg_rig, wait_until_async
from tests.e2e.test_telegram import telegram_message
from tests.e2e.test_viber import reports, rows, send, v6_send
from tests.e2e.test_whatsapp import whatsapp_message

pytestmark = pytest.mark.e2e
__all__ = ["wa_tg_rig"]
EXPIRED = 5


async def _faults(sims: Sims, channel: str) -> list[dict[str, Any]]:
    got = await sims.call(channel, "GET", "/sim/faults")
    return [f for f in got if f["to"] == THROTTLED_N]


async def _throttled_times(sims: Sims, channel: str, n: int, within: float) -> list[float]:
    """When the provider answered the first ``n`` throttled calls (its own clock)."""

    async def enough() -> bool:
        return len(await _faults(sims, channel)) >= n

    assert await wait_until_async(enough, within=within)
    return [float(f["at"]) for f in await _faults(sims, channel)][:n]


async def test_retry_after_is_honoured_and_capped_by_the_validity(
    wa_tg: tuple[Installation, Sims, ReportSink],
) -> None:
    inst, sims, sink = wa_tg
    # Telegram: a hint of an hour on a message valid for 30 s.
    await sims.call("telegram", "POST", "/sim/retry-after", {"retry_after": "3600"})
    tg_message = telegram_message({"text": "short-lived"}, ttl=30)
    code, answer = await send(inst, v6_send(THROTTLED_N, tg_message, sink, "ra-tg"))
    assert code == 200, answer
    tg_mt = str(answer["mtNum"])

    # WhatsApp: Retry-After: 3 (seconds).
    await sims.call("whatsapp", "POST", "/sim/retry-after", {"retry_after": "3"})
    wa_message = whatsapp_message("TEXT", {"text": "throttled"})
    code, answer = await send(inst, v6_send(THROTTLED_N, wa_message, sink, "ra-wa"))
    assert code == 200, answer
    wa_mt = str(answer["mtNum"])
    first, second = await _throttled_times(sims, "whatsapp", 2, within=30)
    assert second - first >= 3.0, (first, second)

    # Then an HTTP-date 8 s ahead: a call answered after it was set is not followed by
    # another before that date (the third call may still have had "3").
    date = email.utils.formatdate(time.time() + 8, usegmt=True)
    await sims.call("whatsapp", "POST", "/sim/retry-after", {"retry_after": date})
    set_at = time.time()
    hinted = email.utils.parsedate_to_datetime(date).timestamp()

    async def answered_with_date_and_after() -> bool:
        times = [float(f["at"]) for f in await _faults(sims, "whatsapp")]
        dated = [i for i, t in enumerate(times) if t > set_at]
        return bool(dated) and len(times) > dated[0] + 1

    assert await wait_until_async(answered_with_date_and_after, within=40), inst.logs()
    times = [float(f["at"]) for f in await _faults(sims, "whatsapp")]
    k = next(i for i, t in enumerate(times) if t > set_at)
    assert times[k] < hinted <= times[k + 1], (times, k, hinted)

    # The provider takes it now: delivered and read, sent once.
    await sims.call("whatsapp", "POST", "/sim/outcomes", {THROTTLED_N: "read"})
    assert await wait_until(lambda: len(reports(sink, wa_mt)) >= 2, within=60), inst.logs()
    sent = await sims.call("whatsapp", "GET", "/sim/messages")
    assert [_to("whatsapp", s) for s in sent].count(THROTTLED_N) == 1

    # Telegram's message expired at its validity, never called again after the first 429.
    async def expired() -> bool:
        found = await rows(inst, "SELECT status FROM messages WHERE id = %s", int(tg_mt))
        return bool(found) and found[0][0] == EXPIRED

    assert await wait_until_async(expired, within=60), inst.logs()
    assert len(await _faults(sims, "telegram")) == 1
    assert not await sims.call("telegram", "GET", "/sim/messages")
