"""Viber's wire format as the messenger service writes and reads it (pure)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from rcs.common.v1 import message_pb2, status_pb2
from rcs_messengers import viber_wire


def test_text_image_and_button_become_text_picture_and_rich_media() -> None:
    text = viber_wire.body_of(
        message_pb2.ViberContent(text="hi", service_number="RCS"), "7916", 60, "1"
    )
    assert (text["type"], text["text"], text["sender"], text["ttl"]) == (
        "text",
        "hi",
        {"name": "RCS"},
        60,
    )
    picture = viber_wire.body_of(
        message_pb2.ViberContent(image_url="https://i/x.png"), "7916", 60, "1"
    )
    assert (picture["type"], picture["media"]) == ("picture", "https://i/x.png")
    rich = viber_wire.body_of(
        message_pb2.ViberContent(text="hi", button_caption="Go", button_action="https://x"),
        "7916",
        60,
        "42",
    )
    assert rich["type"] == "rich_media"
    assert rich["tracking_data"] == "42"
    (body, button) = rich["rich_media"]["Buttons"]
    assert body["Text"] == "hi"
    assert (button["ActionType"], button["ActionBody"], button["Text"]) == (
        "open-url",
        "https://x",
        "Go",
    )


@pytest.mark.parametrize(
    ("http_status", "doc", "expected"),
    [
        (200, {"status": 0, "message_token": 77}, viber_wire.Answer(token="77")),
        (500, None, viber_wire.Answer(retry=True, detail="viber_http_500")),
        (429, None, viber_wire.Answer(retry=True, detail="viber_http_429")),
        (400, {}, viber_wire.Answer(error_code=1, detail="viber refused the request (HTTP 400)")),
        (
            200,
            {"status": 6, "status_message": "receiverNotSubscribed"},
            viber_wire.Answer(error_code=6, detail="viber: receiverNotSubscribed"),
        ),
        (
            200,
            {"status": 2, "status_message": "invalidAuthToken"},
            viber_wire.Answer(retry=True, detail="viber_status_2_invalidAuthToken"),
        ),
        (
            200,
            {"status": 3, "status_message": "badData"},
            viber_wire.Answer(error_code=1, detail="viber status 3: badData"),
        ),
    ],
)
def test_answers_map_to_accepted_retry_or_the_documented_code(
    http_status: int, doc: object, expected: viber_wire.Answer
) -> None:
    assert viber_wire.answer_of(http_status, doc) == expected


def test_signature_is_hmac_sha256_of_the_body_with_the_token() -> None:
    body = b'{"event":"seen"}'
    good = hmac.new(b"tok", body, hashlib.sha256).hexdigest()
    assert viber_wire.signature_ok("tok", body, good)
    assert viber_wire.signature_ok("tok", body, good.upper())
    assert not viber_wire.signature_ok("tok", body + b" ", good)
    assert not viber_wire.signature_ok("other", body, good)


def test_seen_reports_delivered_then_read_and_expired_is_code_7() -> None:
    seen = viber_wire.event_of(
        json.loads('{"event":"seen","timestamp":1700000000000,"message_token":5}')
    )
    assert seen is not None
    assert seen.statuses == (status_pb2.MESSAGE_STATUS_DELIVERED, status_pb2.MESSAGE_STATUS_READ)
    assert (seen.token, seen.at.timestamp()) == ("5", 1700000000.0)
    expired = viber_wire.event_of({"event": "expired", "timestamp": 1, "message_token": 5})
    assert expired is not None
    assert (expired.statuses, expired.error_code) == ((status_pb2.MESSAGE_STATUS_EXPIRED,), 7)
    assert viber_wire.event_of({"event": "subscribed"}) is None
    with pytest.raises(ValueError, match="message_token"):
        viber_wire.event_of({"event": "delivered", "timestamp": 1})


def test_a_message_callback_is_a_reply_with_its_media_and_tracking_data() -> None:
    doc = {
        "event": "message",
        "timestamp": 1700000000000,
        "message_token": 5,
        "sender": {"id": "79161234567", "name": "Ivan"},
        "message": {
            "type": "picture",
            "text": "вот",
            "media": "https://v/p.jpg",
            "tracking_data": "1024000001",
        },
    }
    reply = viber_wire.reply_of(doc)
    assert reply is not None
    assert (reply.provider_id, reply.sender, reply.text, reply.media_url) == (
        "5",
        "79161234567",
        "вот",
        "https://v/p.jpg",
    )
    assert reply.reply_to_message_id == "1024000001"
    assert viber_wire.reply_of({"event": "delivered"}) is None
    with pytest.raises(ValueError, match=r"sender\.id"):
        viber_wire.reply_of({"event": "message", "message": {}})
