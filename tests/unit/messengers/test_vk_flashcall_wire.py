"""VK's and the flash-call provider's wire formats: answers as outcomes, callbacks as
receipts (rest_status.rst's VK and FlashingCall codes)."""

from __future__ import annotations

import pytest

from rcs.common.v1 import status_pb2
from rcs_messengers import flashcall_wire, vk_wire

DELIVERED, READ = status_pb2.MESSAGE_STATUS_DELIVERED, status_pb2.MESSAGE_STATUS_READ
UNDELIVERED = status_pb2.MESSAGE_STATUS_UNDELIVERED


@pytest.mark.parametrize(
    ("status", "doc", "token", "retry", "code"),
    [
        (200, {"response": 17}, "vk-17", False, 0),
        (200, {"error": {"error_code": 6, "error_msg": "Too many"}}, "", True, 0),
        (200, {"error": {"error_code": 5, "error_msg": "auth"}}, "", True, 0),
        (200, {"error": {"error_code": 9, "error_msg": "flood"}}, "", False, 10),
        (200, {"error": {"error_code": 901, "error_msg": "inactive"}}, "", False, 6),
        (200, {"error": {"error_code": 936, "error_msg": "no contact"}}, "", False, 6),
        (200, {"error": {"error_code": 902, "error_msg": "privacy"}}, "", False, 3),
        (200, {"error": {"error_code": 100, "error_msg": "param"}}, "", False, 1),
        (502, None, "", True, 0),
        (404, None, "", False, 1),
    ],
)
def test_vk_answers(status: int, doc: object, token: str, retry: bool, code: int) -> None:
    a = vk_wire.answer_of(status, doc)
    assert (a.operator_id, a.retry, a.error_code) == (token, retry, code)


def test_vk_callbacks() -> None:
    reply = {"type": "message_reply", "object": {"id": 3, "date": 1700000000, "out": 1}}
    event = vk_wire.event_of(reply)
    assert event is not None
    assert (event.operator_id, event.statuses, event.at.year) == ("vk-3", (DELIVERED,), 2023)
    read = vk_wire.event_of({"type": "message_read", "object": {"read_message_id": 3}})
    assert read is not None
    assert read.statuses == (DELIVERED, READ)
    incoming = {"type": "message_reply", "object": {"id": 4, "date": 1, "out": 0}}
    assert vk_wire.event_of(incoming) is None
    assert vk_wire.event_of({"type": "message_new", "object": {}}) is None
    with pytest.raises(ValueError, match="read_message_id"):
        vk_wire.event_of({"type": "message_read", "object": {}})


def test_flashcall_request_and_answers() -> None:
    body = flashcall_wire.body_of("код: 4821.", "79161234567", 60, "55")
    assert body == {"number": "79161234567", "code": "4821", "timeout": 60000, "externalId": "55"}
    assert (
        flashcall_wire.answer_of(200, {"requestId": 9, "from": "78001004821"}).operator_id == "fc-9"
    )
    assert flashcall_wire.answer_of(429, {"errorCode": 4}).retry
    assert flashcall_wire.answer_of(401, {"errorCode": 1}).retry
    assert flashcall_wire.answer_of(400, {"errorCode": 11}).error_code == 6
    assert flashcall_wire.answer_of(400, {"errorCode": 10}).error_code == 1


@pytest.mark.parametrize(
    ("status", "expected", "code"),
    [
        ("RINGING", DELIVERED, 0),
        ("ANSWERED", DELIVERED, 0),
        ("BUSY", UNDELIVERED, 16),
        ("FAILED", UNDELIVERED, 4),
        ("TIMEOUT", UNDELIVERED, 1),
    ],
)
def test_flashcall_callbacks(status: str, expected: int, code: int) -> None:
    event = flashcall_wire.event_of({"requestId": 2, "status": status, "timestamp": 1})
    assert event is not None
    assert (event.operator_id, event.statuses, event.error_code) == ("fc-2", (expected,), code)


def test_flashcall_callback_without_its_id_is_refused() -> None:
    assert flashcall_wire.event_of({"status": "QUEUED"}) is None
    with pytest.raises(ValueError, match="requestId"):
        flashcall_wire.event_of({"status": "BUSY", "timestamp": 1})


def test_vk_status_events_name_the_user_of_a_dialog_only() -> None:
    reply = {"type": "message_reply", "object": {"id": 3, "date": 1, "out": 1, "peer_id": 77}}
    event = vk_wire.event_of(reply)
    assert event is not None
    assert event.peer == "77"
    chat = {"type": "message_read", "object": {"read_message_id": 3, "peer_id": 2000000001}}
    event = vk_wire.event_of(chat)
    assert event is not None
    assert event.peer == ""


def test_vk_user_message_with_a_quote_and_a_photo() -> None:
    sizes = [
        {"type": "m", "url": "https://p/m.jpg", "width": 130, "height": 97},
        {"type": "x", "url": "https://p/x.jpg", "width": 604, "height": 453},
    ]
    doc = {
        "type": "message_new",
        "object": {
            "message": {
                "id": 12,
                "date": 1700000000,
                "from_id": 77,
                "peer_id": 77,
                "out": 0,
                "text": "Да",
                "conversation_message_id": 5,
                "attachments": [{"type": "photo", "photo": {"sizes": sizes}}],
                "reply_message": {"id": 3, "from_id": -42, "peer_id": 77},
            },
            "client_info": {},
        },
    }
    m = vk_wire.user_message_of(doc)
    assert m is not None
    assert (m.key, m.peer, m.text) == ("77:12", "77", "Да")
    assert (m.media_url, m.reply_to_operator_id) == ("https://p/x.jpg", "vk-3")
    assert m.at.year == 2023


def test_vk_user_message_kinds_we_do_not_pass_on() -> None:
    msg = {"id": 0, "conversation_message_id": 8, "date": 1, "from_id": 5, "peer_id": 5}
    # API before 5.103: the message is the object; a chat id (0) keys it by its
    # conversation id.
    old = vk_wire.user_message_of({"type": "message_new", "object": msg})
    assert old is not None
    assert (old.key, old.media_url, old.reply_to_operator_id) == (
        "5:c8",
        "",
        "",
    )
    chat = {**msg, "peer_id": 2000000001}
    assert vk_wire.user_message_of({"type": "message_new", "object": {"message": chat}}) is None
    assert vk_wire.user_message_of({"type": "message_reply", "object": msg}) is None
    with pytest.raises(ValueError, match="date"):
        vk_wire.user_message_of({"type": "message_new", "object": {"message": {"id": 1}}})
    doc_link = {**msg, "attachments": [{"type": "doc", "doc": {"url": "https://d/1.pdf"}}]}
    got = vk_wire.user_message_of({"type": "message_new", "object": {"message": doc_link}})
    assert got is not None
    assert got.media_url == "https://d/1.pdf"
