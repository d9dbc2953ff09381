"""The mobile SDK's REST endpoints and DeviceService: malformed registrations are refused
with a JSON error naming the field and store nothing; a token registered again refreshes
its install; the app's delivered / opened receipts are idempotent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest

from rcs.rpns.v1 import app_service_pb2 as aps
from rcs.rpns.v1 import device_service_pb2 as ds
from rcs_runtime.grpc_client import error_reason
from tests.integration.rpns_helpers import make_app, outbound, register, send, settled
from tests.rpns_rig import PushRig, push_rig

pytestmark = pytest.mark.integration
GOOD: dict[str, Any] = {"platform": "ANDROID", "token": "tok-1", "phone": "79161234567"}


@pytest.fixture
async def rig(database_url: str, tmp_path: Path) -> AsyncIterator[PushRig]:
    async with push_rig(database_url, tmp_path) as r:
        yield r


async def _installs(dsn: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT count(*) FROM rpns_installs")
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


MALFORMED: list[tuple[Any, str]] = [
    ("not json", "body"),
    ([GOOD], "body"),
    ({**GOOD, "platform": "WINDOWS"}, "platform"),
    ({**GOOD, "platform": 2}, "platform"),
    ({k: v for k, v in GOOD.items() if k != "platform"}, "platform"),
    ({**GOOD, "token": ""}, "token"),
    ({**GOOD, "token": "has space"}, "token"),
    ({**GOOD, "token": "t" * 5000}, "token"),
    ({**GOOD, "platform": "IOS", "token": "not-hex"}, "token"),
    ({**GOOD, "phone": "12ab"}, "phone"),
    ({"platform": "ANDROID", "token": "tok-1"}, "phone"),
    ({**GOOD, "externalUserId": "u" * 200}, "externalUserId"),
    ({**GOOD, "subscriptions": "news"}, "subscriptions"),
    ({**GOOD, "subscriptions": [""]}, "subscriptions"),
    ({**GOOD, "pushEnabled": "yes"}, "pushEnabled"),
    ({**GOOD, "appVersion": "1 2"}, "appVersion"),
    ({**GOOD, "colour": "red"}, "colour"),
]


async def test_malformed_registrations_are_refused_with_their_field_and_store_nothing(
    rig: PushRig,
) -> None:
    key = await make_app(rig, "APP")
    for body, field in MALFORMED:
        raw = body if isinstance(body, str) else None
        response = await rig.rpns.sdk.post(
            "/api/sdk/v1/installations",
            content=raw,
            json=None if raw is not None else body,
            headers={"X-Api-Key": key, "Content-Type": "application/json"},
        )
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("INVALID_REQUEST", field), body
        assert error["description"]
    assert await _installs(rig.rpns.settings.database_url) == 0


async def test_registration_needs_the_applications_api_key(rig: PushRig) -> None:
    await make_app(rig, "APP")
    for headers in ({}, {"X-Api-Key": "wrong"}):
        response = await rig.rpns.sdk.post("/api/sdk/v1/installations", json=GOOD, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "INVALID_API_KEY"
    assert await _installs(rig.rpns.settings.database_url) == 0


async def test_install_lifecycle_through_the_sdk(rig: PushRig) -> None:
    key = await make_app(rig, "APP")
    auth = {"X-Api-Key": key}
    first = await register(rig, key, **GOOD)
    assert await register(rig, key, **GOOD, appVersion="1.1") == first  # same token
    updated = await rig.rpns.sdk.patch(
        f"/api/sdk/v1/installations/{first}",
        json={"token": "tok-refreshed", "osPushEnabled": False},
        headers=auth,
    )
    assert updated.status_code == 200
    body = updated.json()
    assert (body["token"], body["osPushEnabled"], body["appVersion"], body["phone"]) == (
        "tok-refreshed",
        False,
        "1.1",
        "79161234567",
    )
    bad = await rig.rpns.sdk.patch(
        f"/api/sdk/v1/installations/{first}", json={"phone": "x"}, headers=auth
    )
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "phone")
    gone = await rig.rpns.sdk.delete(f"/api/sdk/v1/installations/{first}", headers=auth)
    assert (gone.json()["active"], gone.json()["disabledReason"]) == (False, "unregistered")
    missing = await rig.rpns.sdk.get("/api/sdk/v1/installations/nope", headers=auth)
    assert missing.status_code == 404
    other_key = await make_app(rig, "OTHER")
    foreign = await rig.rpns.sdk.get(
        f"/api/sdk/v1/installations/{first}", headers={"X-Api-Key": other_key}
    )
    assert foreign.status_code == 404


async def test_receipts_from_the_app_are_idempotent(rig: PushRig) -> None:
    key = await make_app(rig, "APP")
    install = await register(rig, key, **GOOD)
    await rig.sim.tokens({GOOD["token"]: "silent"})  # the simulated device stays quiet
    (result,) = await send(rig, outbound("APP", GOOD["phone"]))
    push_id = result.operator_message_ids[0]
    for what in ("delivered", "delivered", "opened", "opened", "delivered"):
        response = await rig.rpns.sdk.post(
            f"/api/sdk/v1/pushes/{push_id}/{what}", json={"installationId": install}
        )
        assert response.status_code == 200, response.text
    ((_, state, code, _, _, _),) = await settled(rig.rpns.settings.database_url, push_id)
    assert (state, code) == (3, 0)  # opened, and a late "delivered" does not undo it
    async with await psycopg.AsyncConnection.connect(rig.rpns.settings.database_url) as conn:
        cur = await conn.execute("SELECT status FROM rpns_pushes WHERE id = %s", (int(push_id),))
        assert await cur.fetchone() == (7,)  # READ
    for path, body in (
        (f"/api/sdk/v1/pushes/{push_id}/delivered", {"token": "someone-else"}),
        ("/api/sdk/v1/pushes/999999/delivered", {"installationId": install}),
        (f"/api/sdk/v1/pushes/{push_id}/delivered", {}),
    ):
        response = await rig.rpns.sdk.post(path, json=body)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "PUSH_NOT_FOUND"


async def test_device_service_refuses_a_bad_install_and_pages_through_installs(
    rig: PushRig,
) -> None:
    key = await make_app(rig, "APP")
    (app,) = (await rig.rpns.apps.ListApps(aps.ListAppsRequest(partner="acme"))).apps
    assert (app.api_key, app.apns.private_key_pem) == ("", "")  # no secrets shown
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await rig.rpns.devices.RegisterInstall(
            ds.RegisterInstallRequest(
                app_id=app.app_id, fields=ds.InstallFields(platform=ds.PLATFORM_IOS, token="x")
            )
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(refused.value) == "INVALID_REQUEST"
    for n in range(5):
        await register(rig, key, platform="HUAWEI", token=f"h-{n}", phone="79160000000")
    seen: list[str] = []
    token = ""
    while True:
        page = await rig.rpns.devices.ListInstalls(
            ds.ListInstallsRequest(app_id=app.app_id, page_size=2, page_token=token)
        )
        seen += [i.fields.token for i in page.installs]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"h-{n}" for n in range(5)]
