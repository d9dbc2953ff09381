"""Each push service's answers, from the PNS simulator on the real protocols, and what rpns
does with the install: a dead token disables it; an auth error never does; quota and 5xx
are retried after the service's Retry-After."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from rcs.connector.v1 import connector_service_pb2 as cs
from tests.integration.rpns_helpers import make_app, outbound, register, send, settled
from tests.rpns_rig import PushRig, push_rig

pytestmark = pytest.mark.integration
IOS, ANDROID, HUAWEI, RUSTORE = "IOS", "ANDROID", "HUAWEI", "RUSTORE"


@pytest.fixture
async def rig(database_url: str, tmp_path: Path) -> AsyncIterator[PushRig]:
    async with push_rig(database_url, tmp_path) as r:
        yield r


def _token(platform: str, n: int) -> str:
    return f"{n:02x}" * 32 if platform == IOS else f"{platform.lower()}-token-{n}"


async def _one_push(
    rig: PushRig, case: int, platform: str, **sim: Any
) -> tuple[str, int, int, str, int, bool]:
    """One install on ``platform``, the simulator set up by ``sim``, one push; its delivery."""
    key = await make_app(rig, f"APP{case}")
    token = _token(platform, case)
    number = f"7916{case:07d}"
    await register(rig, key, platform=platform, token=token, phone=number)
    if "state" in sim:
        await rig.sim.tokens({token: sim["state"]})
    if "fail" in sim:
        await rig.sim.fail(**sim["fail"])
    (result,) = await send(rig, outbound(f"APP{case}", number))
    assert result.outcome == cs.SEND_OUTCOME_ACCEPTED, result
    (delivery,) = await settled(rig.rpns.settings.database_url, result.operator_message_ids[0])
    return delivery


@pytest.mark.parametrize(
    ("platform", "state", "detail"),
    [
        (IOS, "unregistered", "apns_410_Unregistered"),
        (IOS, "invalid", "apns_400_BadDeviceToken"),
        (ANDROID, "unregistered", "fcm_404_UNREGISTERED"),
        (ANDROID, "invalid", "fcm_400_INVALID_ARGUMENT"),
        (HUAWEI, "unregistered", "hms_200_80300007"),
        (RUSTORE, "unregistered", "rustore_404_NOT_FOUND"),
    ],
)
async def test_a_dead_token_disables_its_install(
    rig: PushRig, platform: str, state: str, detail: str
) -> None:
    _, status, code, why, _, active = await _one_push(rig, 1, platform, state=state)
    assert (status, code, why, active) == (4, 26, detail, False)


async def test_auth_errors_fail_the_push_but_never_disable_the_token(rig: PushRig) -> None:
    cases = [
        (IOS, {"provider": "apns", "status": 403, "reason": "InvalidProviderToken"}),
        (ANDROID, {"provider": "fcm_token", "status": 400}),
        (ANDROID, {"provider": "fcm", "status": 403, "reason": "SENDER_ID_MISMATCH"}),
        (HUAWEI, {"provider": "hms", "status": 403, "reason": "80300002"}),
        (RUSTORE, {"provider": "rustore", "status": 403}),
    ]
    found = [
        (await _one_push(rig, n, platform, fail=fail))[1:]
        for n, (platform, fail) in enumerate(cases, start=10)
    ]
    assert found == [
        (4, 28, "apns_403_InvalidProviderToken", 1, True),
        (4, 28, "fcm_token_refused_400", 1, True),
        (4, 28, "fcm_403_SENDER_ID_MISMATCH", 1, True),
        (4, 28, "hms_403_80300002", 1, True),
        (4, 28, "rustore_403_PERMISSION_DENIED", 1, True),
    ]


async def test_quota_and_server_errors_are_retried_after_retry_after(rig: PushRig) -> None:
    cases = [
        (IOS, {"provider": "apns", "status": 429, "retryAfter": 1}),
        (ANDROID, {"provider": "fcm", "status": 429, "retryAfter": 1}),  # QUOTA_EXCEEDED
        (HUAWEI, {"provider": "hms", "status": 500, "retryAfter": 1}),  # 81000001
        (RUSTORE, {"provider": "rustore", "status": 503, "retryAfter": 1}),
    ]
    for n, (platform, fail) in enumerate(cases, start=20):
        started = asyncio.get_running_loop().time()
        _, state, code, _, attempts, active = await _one_push(rig, n, platform, fail=fail)
        waited = asyncio.get_running_loop().time() - started
        assert (platform, state, code, attempts, active) == (platform, 2, 0, 2, True)
        assert waited >= 1.0, f"{platform}: sent again before Retry-After ({waited:.2f} s)"


async def test_server_errors_without_retry_after_back_off_and_then_fail(
    database_url: str, tmp_path: Path
) -> None:
    async with push_rig(database_url, tmp_path, rpns_max_attempts=2) as rig:
        delivery = await _one_push(
            rig, 30, ANDROID, fail={"provider": "fcm", "status": 503, "count": 2}
        )
    assert delivery[1:] == (4, 28, "fcm_503_UNAVAILABLE", 2, True)


async def test_hms_partial_success_disables_only_the_illegal_tokens(
    database_url: str, tmp_path: Path
) -> None:
    # One send loop: with two, each may claim one of the two deliveries (SKIP LOCKED), and
    # hms-2 alone is answered 80300007 (all invalid), not the partial success under test.
    async with push_rig(database_url, tmp_path, rpns_send_rounds=1) as rig:
        key = await make_app(rig, "HMSAPP")
        number = "79160000040"
        for n in (1, 2):
            await register(rig, key, platform=HUAWEI, token=f"hms-{n}", phone=number)
        await rig.sim.tokens({"hms-2": "invalid"})
        (result,) = await send(rig, outbound("HMSAPP", number))
        found = await settled(rig.rpns.settings.database_url, result.operator_message_ids[0])
        (request,) = await rig.sim.requests("hms")
    assert [(t, s, c, d, a) for t, s, c, d, _, a in found] == [
        ("hms-1", 2, 0, "", True),
        ("hms-2", 4, 26, "hms_80100000_illegal_token", False),
    ]
    assert '"token":["hms-1","hms-2"]' in request["body"]  # one request for both
