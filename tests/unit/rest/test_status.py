"""GET /api/v6/messages/{mtNum}: Basic auth, Rapporto's status codes, history, 404s."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from rcs.common.v1 import channel_pb2, message_pb2, status_pb2
from tests.unit.rest.conftest import Client, post_send, sms_body
from tests.unit.rest.fakes import FakeCore, ts

S = status_pb2
CHALLENGE = 'Basic realm="rcs"'


def basic(login: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ACME = basic("acme", "s3cret")


async def get_status(
    client: Client, mt_num: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    resp = await client.get(
        f"/api/v6/messages/{mt_num}", headers=ACME if headers is None else headers
    )
    return resp.status, dict(resp.headers), json.loads(await resp.read())


def store(
    core: FakeCore,
    status: int,
    history: list[tuple[int, int, int]],
    *,
    message_id: str = "2048000007",
    partner: str = "acme",
    error_code: int = 0,
) -> None:
    core.messages.stored[message_id] = message_pb2.Message(
        id=message_id,
        partner=partner,
        client_ref="ref-9",
        destination="79161234567",
        channel=channel_pb2.CHANNEL_SMS,
        sms=message_pb2.SmsContent(text="secret text", sender="RCS"),
        status=status,  # type: ignore[arg-type]
        error_code=error_code,
        part_count=2,
        create_time=ts(1_557_051_595),
        history=[
            S.StatusEvent(message_id=message_id, status=s, error_code=e, time=ts(t))  # type: ignore[arg-type]
            for s, e, t in history
        ],
    )


async def test_sent_message_reads_back_as_accepted_without_text(client: Client) -> None:
    _, sent = await post_send(client, sms_body(id="p-7", data={"text": "top secret"}))
    status, headers, body = await get_status(client, sent["mtNum"])
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert body == {
        "mtNum": sent["mtNum"],
        "id": "p-7",
        "destAddr": "79161234567",
        "sourceAddr": "RCS",
        "type": "SMS",
        "status": "ACCEPTED",
        "statusCode": 0,
        "errorCode": 0,
        "partCount": 0,
        "submitDate": "2023-11-14T22:13:20+0000",
        "history": [
            {
                "status": "ACCEPTED",
                "statusCode": 0,
                "errorCode": 0,
                "time": "2023-11-14T22:13:20+0000",
            }
        ],
    }


async def test_undelivered_message_has_final_code_done_date_and_full_history(
    client: Client, core: FakeCore
) -> None:
    store(
        core,
        S.MESSAGE_STATUS_UNDELIVERED,
        [
            (S.MESSAGE_STATUS_ACCEPTED, 0, 1_557_051_595),
            (S.MESSAGE_STATUS_SENT, 0, 1_557_051_596),
            (S.MESSAGE_STATUS_UNDELIVERED, 2, 1_557_051_635),
        ],
        error_code=2,
    )
    status, _, body = await get_status(client, "2048000007")
    assert status == 200
    assert "text" not in body
    assert (body["status"], body["statusCode"], body["errorCode"]) == ("UNDELIVERED", 5, 2)
    assert body["id"] == "ref-9"
    assert body["partCount"] == 2
    assert body["submitDate"] == "2019-05-05T10:19:55+0000"
    assert body["doneDate"] == "2019-05-05T10:20:35+0000"
    assert body["history"] == [
        {"status": "ACCEPTED", "statusCode": 0, "errorCode": 0, "time": "2019-05-05T10:19:55+0000"},
        {"status": "SENT", "statusCode": 0, "errorCode": 0, "time": "2019-05-05T10:19:56+0000"},
        {
            "status": "UNDELIVERED",
            "statusCode": 5,
            "errorCode": 2,
            "time": "2019-05-05T10:20:35+0000",
        },
    ]


@pytest.mark.parametrize(
    ("status", "name", "code", "final"),
    [
        (S.MESSAGE_STATUS_ACCEPTED, "ACCEPTED", 0, False),
        (S.MESSAGE_STATUS_SENT, "SENT", 0, False),
        (S.MESSAGE_STATUS_DELIVERED, "DELIVERED", 2, True),
        (S.MESSAGE_STATUS_UNDELIVERED, "UNDELIVERED", 5, True),
        (S.MESSAGE_STATUS_EXPIRED, "EXPIRED", 5, True),
        (S.MESSAGE_STATUS_REJECTED, "REJECTED", 5, True),
        (S.MESSAGE_STATUS_READ, "READ", 9, True),
    ],
)
async def test_status_maps_to_rapporto_status_code(
    client: Client, core: FakeCore, status: int, name: str, code: int, final: bool
) -> None:
    store(core, status, [(S.MESSAGE_STATUS_ACCEPTED, 0, 100), (status, 0, 200)])
    _, _, body = await get_status(client, "2048000007")
    assert (body["status"], body["statusCode"]) == (name, code)
    assert body["history"][-1]["statusCode"] == code
    assert ("doneDate" in body) is final


async def test_leading_zeros_in_mt_num_name_the_same_message(
    client: Client, core: FakeCore
) -> None:
    store(core, S.MESSAGE_STATUS_SENT, [])
    status, _, body = await get_status(client, "002048000007")
    assert (status, body["mtNum"]) == (200, "2048000007")
    assert core.messages.gets[0].message_id == "2048000007"
    assert core.messages.gets[0].partner == "acme"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, 5),
        ({"Authorization": "Bearer abc"}, 5),
        ({"Authorization": "Basic !!!not-base64"}, 5),
        ({"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, 5),
        (basic("nobody", "s3cret"), 5),
        (basic("acme", "guess"), 6),
    ],
    ids=["missing", "not basic", "bad base64", "no colon", "unknown login", "wrong password"],
)
async def test_bad_basic_credentials_get_401_with_challenge(
    client: Client, core: FakeCore, headers: dict[str, str], code: int
) -> None:
    store(core, S.MESSAGE_STATUS_SENT, [])
    status, resp_headers, body = await get_status(client, "2048000007", headers)
    assert (status, body["error"]["code"]) == (401, code)
    assert body["error"]["description"] == {5: "Invalid login", 6: "Invalid password"}[code]
    assert resp_headers["WWW-Authenticate"] == CHALLENGE
    assert core.messages.gets == []


async def test_send_errors_carry_no_basic_challenge(client: Client) -> None:
    resp, _ = await post_send(client, sms_body(password="guess"))
    assert resp.status == 401
    assert "WWW-Authenticate" not in resp.headers


async def test_other_partners_message_is_not_found(client: Client, core: FakeCore) -> None:
    store(core, S.MESSAGE_STATUS_DELIVERED, [], partner="other")
    status, _, body = await get_status(client, "2048000007")
    assert (status, body["error"]["code"]) == (404, 4)
    assert body["error"]["description"] == "Invalid request"


async def test_unknown_message_is_not_found(client: Client) -> None:
    status, _, body = await get_status(client, "9999999999")
    assert (status, body["error"]["code"]) == (404, 4)


@pytest.mark.parametrize("mt_num", ["abc", "-5", "0", "1.5", "٣٤", "99999999999999999999"])
async def test_non_numeric_mt_num_is_not_found_without_asking_core(
    client: Client, core: FakeCore, mt_num: str
) -> None:
    status, _, body = await get_status(client, mt_num)
    assert (status, body["error"]["code"]) == (404, 4)
    assert core.messages.gets == []


async def test_status_reads_use_the_login_cache_too(client: Client, core: FakeCore) -> None:
    store(core, S.MESSAGE_STATUS_SENT, [])
    for _ in range(3):
        status, _, _ = await get_status(client, "2048000007")
        assert status == 200
    assert len(core.auth.calls) == 1
