"""WhatsApp Cloud API's wire format: request bodies, answers as outcomes, signatures,
notifications as receipts and replies."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from rcs.common.v1 import message_pb2, status_pb2
from rcs_messengers import whatsapp_wire as w
from rcs_messengers.provider_call import Answer


def test_text_and_image_bodies() -> None:
    text = w.body_of(message_pb2.ViberContent(text="hi"), "79161234567")
    assert text == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "79161234567",
        "type": "text",
        "text": {"preview_url": True, "body": "hi"},
    }
    image = w.body_of(message_pb2.ViberContent(image_url="https://x/i.png"), "7916")
    assert (image["type"], image["image"]) == ("image", {"link": "https://x/i.png"})


@pytest.mark.parametrize(
    ("status", "doc", "expected"),
    [
        (200, {"messages": [{"id": "wamid.A"}]}, Answer(operator_id="wamid.A")),
        (500, None, None),
        (429, {"error": {"code": 130429}}, None),
        (401, {"error": {"code": 190, "message": "expired"}}, None),
    ],
)
def test_accepted_and_retried_answers(status: int, doc: Any, expected: Answer | None) -> None:
    answer = w.answer_of(status, doc)
    if expected is None:
        assert answer.retry
        assert not answer.operator_id
    else:
        assert answer == expected


@pytest.mark.parametrize(
    ("code", "extended"), [(131026, 6), (131047, 10), (131050, 3), (100, 10), (None, 10)]
)
def test_refusals_carry_rest_status_codes(code: int | None, extended: int) -> None:
    answer = w.answer_of(400, {"error": {"code": code, "message": "m"}})
    assert (answer.retry, answer.error_code) == (False, extended)


def test_signature_is_the_app_secrets_hmac_of_the_body() -> None:
    body = b'{"object":"whatsapp_business_account"}'
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert w.signature_ok("s3cret", body, good)
    assert not w.signature_ok("other", body, good)
    assert not w.signature_ok("s3cret", body + b" ", good)


def _notification(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


def test_statuses_become_receipts_read_implying_delivered() -> None:
    doc = _notification(
        {
            "statuses": [
                {"id": "wamid.A", "status": "sent", "timestamp": "1700000000"},
                {"id": "wamid.A", "status": "read", "timestamp": "1700000001"},
                {
                    "id": "wamid.B",
                    "status": "failed",
                    "timestamp": "1700000002",
                    "errors": [{"code": 131047, "title": "Re-engagement message"}],
                },
            ]
        }
    )
    events = w.events_of(json.loads(json.dumps(doc)))
    assert [(e.operator_id, e.statuses, e.error_code) for e in events] == [
        (
            "wamid.A",
            (status_pb2.MESSAGE_STATUS_DELIVERED, status_pb2.MESSAGE_STATUS_READ),
            0,
        ),
        ("wamid.B", (status_pb2.MESSAGE_STATUS_UNDELIVERED,), 10),
    ]
    assert events[0].at.timestamp() == 1700000001


def test_malformed_notifications_are_refused() -> None:
    with pytest.raises(ValueError, match="whatsapp_business_account"):
        w.events_of({"object": "page"})
    with pytest.raises(ValueError, match="id"):
        w.events_of(_notification({"statuses": [{"status": "read", "timestamp": "1"}]}))
    with pytest.raises(ValueError, match="Unix seconds"):
        w.events_of(_notification({"statuses": [{"id": "x", "status": "read"}]}))


def test_replies_carry_sender_business_number_text_and_context() -> None:
    doc = _notification(
        {
            "metadata": {"display_phone_number": "79000000000", "phone_number_id": "1"},
            "messages": [
                {
                    "from": "79161234567",
                    "id": "wamid.R",
                    "timestamp": "1700000000",
                    "type": "text",
                    "text": {"body": "да"},
                    "context": {"from": "79000000000", "id": "wamid.A"},
                },
                {
                    "from": "79161234567",
                    "id": "wamid.S",
                    "timestamp": "1700000001",
                    "type": "image",
                    "image": {"id": "55", "caption": "фото"},
                },
            ],
        }
    )
    replies = w.replies_of(doc)
    assert [(r.wamid, r.sender, r.business_number, r.text, r.context_wamid) for r in replies] == [
        ("wamid.R", "79161234567", "79000000000", "да", "wamid.A"),
        ("wamid.S", "79161234567", "79000000000", "фото", ""),
    ]


def test_a_template_body_names_it_with_its_language_and_parameters() -> None:
    """Issue 17: a partner's approved template, as the Cloud API takes it (and as the
    simulator checks it: an unapproved name is its 132001)."""
    from rcs_simulators.whatsapp.provider import RefusedError, check_request

    content = message_pb2.ViberContent(
        template_name="otp", template_language="ru", template_parameters=["1234"]
    )
    body = w.body_of(content, "79161234567")
    assert (body["type"], body["template"]) == (
        "template",
        {
            "name": "otp",
            "language": {"code": "ru"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "1234"}]}],
        },
    )
    assert check_request(body, {"otp"}) == ("79161234567", "template")
    with pytest.raises(RefusedError):
        check_request(body, {"order_ready"})
