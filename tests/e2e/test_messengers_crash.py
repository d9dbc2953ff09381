"""kill -9 of the messenger service mid-traffic (VK and FlashingCall): every accepted
message still reaches its final status, and none reaches the subscriber twice: a send
the dispatcher repeats after the kill carries the same VK random_id / flash-call
externalId, which the provider sends once (docs/vk.md, docs/flashcall.md)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tests.e2e.test_vk_flashcall import Rig, flashcall, rig, vk

pytestmark = pytest.mark.e2e
__all__ = ["rig"]
N = 60


async def test_kill_minus_nine_of_the_messenger_service_loses_and_repeats_nothing(
    rig: Rig,
) -> None:
    accepted: dict[str, int] = {}  # mtNum → channel

    async def send(n: int) -> None:
        number = f"7917200{n:04d}"
        message = vk(f"сообщение {n}") if n % 2 else flashcall(f"код {1000 + n}")
        code, answer = await rig.send(number, message, f"k-{n}")
        assert code == 200, answer
        accepted[str(answer["mtNum"])] = 5 if n % 2 else 6

    for n in range(N // 2):
        await send(n)
    rig.inst.kill("messengers")  # while the dispatcher is sending the first half
    for n in range(N // 2, N):
        await send(n)
    await asyncio.sleep(1)
    rig.inst.start("messengers")

    final = {5: 7, 6: 3}  # VK: READ; FlashingCall: DELIVERED

    async def statuses() -> dict[str, int]:
        found = await rig.rows(
            "SELECT id, status FROM messages WHERE id = ANY(%s)", [int(m) for m in accepted]
        )
        return {str(i): int(s) for i, s in found}

    deadline = asyncio.get_running_loop().time() + 120
    while True:
        now = await statuses()
        if all(now.get(m) == final[c] for m, c in accepted.items()):
            break
        left = Counter(now.get(m) for m, c in accepted.items() if now.get(m) != final[c])
        assert asyncio.get_running_loop().time() < deadline, (left, rig.inst.logs())
        await asyncio.sleep(1)

    # Each message reached the provider's subscriber once, under its own id (a repeat,
    # the dispatcher resending what was in flight at the kill, was answered, not sent).
    vk_stats, fc_stats = await rig.sim("vk", "/sim/stats"), await rig.sim("fc", "/sim/stats")
    print(f"in flight at the kill and sent again: {vk_stats} {fc_stats}")
    vk_sent = [m["random_id"] for m in await rig.sim("vk", "/sim/messages")]
    fc_sent = [c["externalId"] for c in await rig.sim("fc", "/sim/calls")]
    assert sorted(vk_sent) == sorted(m for m, c in accepted.items() if c == 5)
    assert sorted(fc_sent) == sorted(m for m, c in accepted.items() if c == 6)
    # And the partner got one report per status: no duplicate DELIVERED after the restart.
    for mt, channel in accepted.items():
        want = 2 if channel == 5 else 1
        assert len(await rig.reported(mt, want)) == want, rig.reports(mt)
