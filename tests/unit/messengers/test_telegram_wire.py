"""Telegram (the Gateway API's shape): request bodies, answers, report signatures and
statuses."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from rcs.common.v1 import message_pb2, status_pb2
from rcs_messengers import telegram_wire as t
from rcs_messengers.provider_call import Answer


def test_body_carries_phone_text_link_sender_and_callback() -> None:
    content = message_pb2.ViberContent(service_number="Shop", text="hi", button_action="https://x")
    assert t.body_of(content, "79161234567", 600, "42", "http://cb") == {
        "phone_number": "+79161234567",
        "text": "hi",
        "ttl": 600,
        "payload": "42",
        "link": "https://x",
        "sender_username": "Shop",
        "callback_url": "http://cb",
    }
    bare = t.body_of(message_pb2.ViberContent(text="hi"), "7916", 30, "1", "")
    assert set(bare) == {"phone_number", "text", "ttl", "payload"}


@pytest.mark.parametrize(
    ("status", "doc", "expected"),
    [
        (200, {"ok": True, "result": {"request_id": "r1"}}, Answer(operator_id="r1")),
        (500, None, Answer(retry=True, detail="telegram_http_500")),
        (401, {"ok": False, "error": "ACCESS_TOKEN_INVALID"}, None),
        (400, {"ok": False, "error": "FLOOD_WAIT_5"}, None),
        (400, {"ok": False, "error": "PHONE_NUMBER_NOT_AVAILABLE"}, Answer(error_code=1)),
    ],
)
def test_answers(status: int, doc: object, expected: Answer | None) -> None:
    answer = t.answer_of(status, doc)
    if expected is None:
        assert answer.retry
    elif expected.error_code:
        assert (answer.error_code, answer.retry) == (1, False)
    else:
        assert answer == expected


def test_signature_is_keyed_with_the_tokens_sha256_over_timestamp_and_body() -> None:
    key = hashlib.sha256(b"tok").digest()
    given = hmac.new(key, b"1700000000\n{}", hashlib.sha256).hexdigest()
    assert t.signature_ok("tok", "1700000000", b"{}", given)
    assert not t.signature_ok("tok", "1700000001", b"{}", given)
    assert not t.signature_ok("other", "1700000000", b"{}", given)


def test_reports_become_status_events() -> None:
    def report(kind: str) -> dict[str, object]:
        return {"request_id": "r1", "delivery_status": {"status": kind, "updated_at": 5}}

    assert t.event_of(report("sent")) is None
    read = t.event_of(report("read"))
    assert read is not None
    assert read.statuses == (status_pb2.MESSAGE_STATUS_DELIVERED, status_pb2.MESSAGE_STATUS_READ)
    expired = t.event_of(report("expired"))
    assert expired is not None
    assert (expired.statuses, expired.error_code) == ((status_pb2.MESSAGE_STATUS_EXPIRED,), 1)
    with pytest.raises(ValueError, match="request_id"):
        t.event_of({"delivery_status": {}})
    with pytest.raises(ValueError, match="updated_at"):
        t.event_of({"request_id": "r1", "delivery_status": {"status": "read"}})
