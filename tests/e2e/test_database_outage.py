"""A PostgreSQL outage (every connection cut, new ones refused for a while): every process
rides it out and reconnects, and the partner APIs answer it in their documented form —
REST v6 503 with error code 1, HTTP v5 500, REST_BATCH 503 — instead of 500 INTERNAL."""

from __future__ import annotations

import asyncio
import base64
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.e2e.installation import ADMIN_LOGIN, ADMIN_PASSWORD, Installation, database_down, http

pytestmark = pytest.mark.e2e
ADMIN = {
    "Authorization": "Basic "
    + base64.b64encode(f"{ADMIN_LOGIN}:{ADMIN_PASSWORD}".encode()).decode()
}
EVERY = ("routing", "simulator", "connector", "core", "dispatcher", "rest")
# Core may wait for a pooled connection until the gateway's RPC deadline (10 s) ends the
# call, which the gateway then answers in the API's form: a client gives it longer.
OUTAGE_ANSWER_SECONDS = 20


def _v6(request_id: str) -> dict[str, Any]:
    return {
        "login": "demo",
        "password": "demo",
        "id": request_id,
        "destAddr": "79161234567",
        "message": {"type": "SMS", "data": {"text": "Hello", "serviceNumber": "RCS"}},
    }


def _v5(installation: Installation) -> tuple[int, str]:
    url = installation.url(
        "/api/http/v5/send?serviceId=demo&pass=demo&clientId=79161234567&message=Hi"
    )
    try:
        with urllib.request.urlopen(url, timeout=OUTAGE_ANSWER_SECONDS) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _batch(installation: Installation, key: str) -> tuple[int, Any]:
    body = {"messages": [{"from": "RCS", "to": "79161234567", "text": "Hi"}]}
    return http(
        "POST",
        installation.url("/api/batch/v3/messages"),
        body,
        headers={"Authorization": f"Key {key}"},
        timeout=OUTAGE_ANSWER_SECONDS,
    )


async def _delivered(installation: Installation, request_id: str, within: float) -> None:
    auth = {"Authorization": "Basic " + base64.b64encode(b"demo:demo").decode()}
    deadline = time.monotonic() + within
    status, answer = http("POST", installation.url("/api/v6/send"), _v6(request_id))
    while status != 200 and time.monotonic() < deadline:  # pools reconnecting
        await asyncio.sleep(0.3)
        status, answer = http("POST", installation.url("/api/v6/send"), _v6(request_id))
    assert status == 200, answer
    view: dict[str, Any] = {}
    while view.get("status") != "DELIVERED" and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        _, view = http("GET", installation.url(f"/api/v6/messages/{answer['mtNum']}"), headers=auth)
    assert view.get("status") == "DELIVERED", view


@pytest.mark.smsc(receipt_delay_min_ms=0, receipt_delay_max_ms=20)
async def test_every_process_rides_out_a_database_outage_and_apis_answer_503(
    installation: Installation,
) -> None:
    installation.extra_env["RCS_AUTH_CACHE_SECONDS"] = "60"
    installation.start(*EVERY)
    installation.wait_ready(60)
    status, created = http(
        "POST", installation.url("/api/admin/v1/partners/demo/api-keys"), {}, headers=ADMIN
    )
    assert status == 201, created
    key = created["key"]
    await _delivered(installation, "before", 20)
    assert _batch(installation, key)[0] == 200  # the key is now in the gateway's cache
    assert _v5(installation)[0] == 200

    with database_down(installation.database_url):
        status, answer = http(
            "POST", installation.url("/api/v6/send"), _v6("during"), timeout=OUTAGE_ANSWER_SECONDS
        )
        assert (status, answer["error"]["code"]) == (503, 1), answer
        assert answer["error"]["description"] == "Service is unavailable"
        status, text = _v5(installation)
        assert (status, text.split(",")[0]) == (500, "Internal error"), text
        status, answer = _batch(installation, key)
        assert status == 503, answer
        assert answer["reasons"] == [{"key": "unknown", "ref": ""}], answer
        # Long enough for every reload and polling loop (connector 1 s, routing 0.5 s,
        # dispatcher, report sender, maintenance) to meet the outage.
        await asyncio.sleep(4)
        dead = [name for name, p in installation.procs.items() if p.poll() is not None]
        assert not dead, installation.logs()

    await _delivered(installation, "after", 30)
    dead = [name for name, p in installation.procs.items() if p.poll() is not None]
    assert not dead, installation.logs()
