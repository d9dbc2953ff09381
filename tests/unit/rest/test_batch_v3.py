"""REST_BATCH v3 parsing (pure): per-message checks with Rapporto's keys and refs."""

from __future__ import annotations

from typing import Any

import pytest

from gateways.rest.batch_v3 import (
    BatchRefusedError,
    Rejection,
    _core_rejection,
    parse_batch,
    parse_key,
)

OK = {"from": "ACME", "to": "79034567890", "text": "Code: 1234"}


def one(**changes: Any) -> Any:
    message = {**OK, **changes}
    for key in [k for k, v in changes.items() if v is None]:
        del message[key]
    return parse_batch({"messages": [message]})[0]


def test_a_plain_message_becomes_a_submission() -> None:
    sub = one(id="x-1", validity=60, priority=3)
    assert not isinstance(sub, Rejection)
    assert (sub.destination, sub.sms.sender, sub.sms.text, sub.client_ref) == (
        "79034567890",
        "ACME",
        "Code: 1234",
        "x-1",
    )
    assert sub.ttl.seconds == 60
    assert sub.priority == 2  # 0-3 onto 0-2
    assert one().ttl.seconds == 172_800  # Rapporto's default: 2 days


@pytest.mark.parametrize(
    ("changes", "key", "ref"),
    [
        ({"from": None}, "not.available", "messages[0].from"),
        ({"from": "x" * 22}, "not.available", "messages[0].from"),
        ({"to": None}, "invalid", "messages[0].to"),
        ({"to": 79034567890}, "invalid", "messages[0].to"),
        ({"text": ""}, "invalid", "messages[0].text"),
        ({"text": "x" * 2001}, "length.too.long", "messages[0].text"),
        ({"id": "x" * 51}, "invalid", "messages[0].id"),
        ({"validity": 59}, "invalid", "messages[0].validity"),
        ({"validity": 259_201}, "invalid", "messages[0].validity"),
        ({"validity": True}, "invalid", "messages[0].validity"),
        ({"priority": 4}, "invalid", "messages[0].priority"),
        ({"callbackUrl": "ftp://x"}, "invalid", "messages[0].callbackUrl"),
        ({"callbackUrl": "https://p.example/cb"}, "forbidden", "messages[0].callbackUrl"),
    ],
)
def test_each_field_is_refused_with_its_key_and_ref(
    changes: dict[str, Any], key: str, ref: str
) -> None:
    got = one(**changes)
    assert isinstance(got, Rejection)
    assert (got.key, got.ref) == (key, ref)
    assert got.description


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ([], "invalid"),
        ({}, "must.be.not.null"),
        ({"messages": []}, "must.be.not.null"),
        ({"messages": [OK] * 3001}, "too.many.messages"),
        ({"messages": [OK], "useTimeDiff": True}, "forbidden"),
        ({"messages": [OK], "shortenUrl": True}, "forbidden"),
    ],
)
def test_packet_refusals(doc: Any, key: str) -> None:
    with pytest.raises(BatchRefusedError) as caught:
        parse_batch(doc)
    assert caught.value.rejection.key == key


def test_flags_set_to_false_are_fine() -> None:
    assert len(parse_batch({"messages": [OK], "useTimeDiff": False, "shortenUrl": False})) == 1


@pytest.mark.parametrize("header", [None, "", "Key", "Key a-b", "Basic abc", "Key " + "a" * 31])
def test_key_header_must_be_key_and_alphanumeric(header: str | None) -> None:
    with pytest.raises(BatchRefusedError) as caught:
        parse_key(header)
    assert caught.value.status == 401


def test_key_header() -> None:
    assert parse_key("Key YWxhZGRpbjpvcGVuc2VzYW1l") == "YWxhZGRpbjpvcGVuc2VzYW1l"
    assert parse_key("key abc123") == "abc123"


def test_core_refusals_name_the_field() -> None:
    assert _core_rejection(4, "INVALID_DESTINATION", "bad").ref == "messages[4].to"
    assert _core_rejection(0, "DUPLICATE_MESSAGE", "dup") == Rejection(
        "forbidden", "messages[0]", "dup"
    )
    assert _core_rejection(0, "SOMETHING_NEW", "") == Rejection(
        "unknown", "messages[0]", "SOMETHING_NEW"
    )
