"""Soak (marked slow, not in `make test`): minutes of mixed outcomes with the dispatcher,
connector and core killed at random; every accepted id must end final, with no duplicate
beyond the in-flight bound per kill.

    eval "$(scripts/test-services.sh env)"; .venv/bin/pytest -m slow tests/e2e/test_soak.py -s
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from tests.e2e.installation import FINAL, Installation
from tests.e2e.test_crash_recovery import _submit_traffic, _wait_final

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]
SOAK_SECONDS = 120
IN_FLIGHT_BOUND = 2 * 25  # per dispatcher kill (docs/invariants.md)


@pytest.mark.smsc(
    outcomes="delivered=80,undelivered:2=10,expired=5,rejected:13=5",
    receipt_delay_min_ms=0,
    receipt_delay_max_ms=500,
)
async def test_soak_with_random_kills_loses_nothing(installation: Installation) -> None:
    installation.start("routing", "simulator", "connector", "core", "dispatcher")
    installation.wait_ready()
    target = f"127.0.0.1:{installation.ports['core']}"
    accepted: list[str] = []
    rng = random.Random(7)
    deadline = time.monotonic() + SOAK_SECONDS
    traffic = asyncio.create_task(_submit_traffic(target, deadline, accepted))
    dispatcher_kills = 0
    while time.monotonic() < deadline - 10:
        await asyncio.sleep(rng.uniform(5, 15))
        victim = rng.choice(["dispatcher", "connector", "core"])
        installation.kill(victim)
        dispatcher_kills += victim == "dispatcher"
        await asyncio.sleep(rng.uniform(0.2, 2))
        installation.start(victim)
    await traffic
    states = await _wait_final(target, accepted, within=180)
    assert all(states.get(m) in FINAL for m in accepted), installation.logs()
    stats = installation.smsc_stats()
    # Connector kills resend what was in flight on its binds too: one window each.
    kills = SOAK_SECONDS // 5
    assert stats["duplicate_parts"] <= IN_FLIGHT_BOUND * kills, stats
    print(f"soak: {len(accepted)} accepted, {stats['duplicate_parts']} resent, {stats}")
