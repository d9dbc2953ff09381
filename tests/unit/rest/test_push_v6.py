"""REST v6 PUSH bodies (rest_push.rst) and cascadeChainLink (rest_cascade.rst), pure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateways.rest.parsing import parse_send
from rcs.common.v1 import channel_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_runtime.errors import RcsError


def push_body(**data: Any) -> dict[str, Any]:
    return {
        "login": "l",
        "password": "p",
        "message": {
            "type": "Push",
            "data": {"externalUserId": "u-1", "text": "До", "title": "T", "ttl": 30, **data},
        },
    }


def test_push_by_user_id_needs_no_dest_addr() -> None:
    req = parse_send(push_body())
    assert (req.channel, req.dest_addr) == (channel_pb2.CHANNEL_PUSH, "")
    assert req.push is not None
    assert (req.push.external_user_id, req.push.text, req.push.title) == ("u-1", "До", "T")


def test_rich_replaces_title_text_content_and_buttons() -> None:
    rich = {
        "title": "После",
        "message": "Текст после",
        "content-url": "https://e.x/p.html",
        "content-category": "HTML",
        "custom-payload": {"a": 1},
        "actions": [{"title": "Go", "action": "open-app", "options": ""}],
    }
    req = parse_send(push_body(Options=[{"param_name": "RICH", "param_value": rich}]))
    assert req.push is not None
    assert (req.push.title, req.push.text, req.push.link_url) == (
        "После",
        "Текст после",
        "https://e.x/p.html",
    )
    assert json.loads(req.push.custom_payload_json) == {"a": 1}
    assert [(b.text, b.action_url) for b in req.push.buttons] == [("Go", "")]
    assert req.submission().push.text == "Текст после"


def test_live_activity_and_secure_go_to_rpns_as_given() -> None:
    options = [
        {"param_name": "LIVE_ACTIVITY", "param_value": {"aps": {"event": "update"}}},
        {"param_name": "SECURE", "param_value": {"card": "*0000"}},
    ]
    req = parse_send(push_body(extraOptions=options))
    assert req.push is not None
    assert json.loads(req.push.extra_options_json) == options


@pytest.mark.parametrize(
    "data",
    [
        {"content": {"contentCategory": "VIDEO", "contentUrl": "x"}},
        {"content": {"actions": [{"title": "x", "action": "dance"}]}},
        {"content": {"actions": [{"title": "x", "action": "link"}]}},
        {"customPayload": ["not", "an", "object"]},
        {"extraOptions": [{"param_name": "SENDING_PLATFORMS", "param_value": ["Nokia"]}]},
        {"primaryOn": "yes"},
    ],
)
def test_malformed_push_fields_are_invalid_requests(data: dict[str, Any]) -> None:
    with pytest.raises(RcsError) as caught:
        parse_send(push_body(**data))
    assert caught.value.reason == "INVALID_REQUEST"
    assert caught.value.field.startswith("message/data/")


def test_nested_links_become_the_cascade_in_order() -> None:
    doc = push_body()
    doc["destAddr"] = "79161234567"
    doc["cascadeChainLink"] = {
        "state": "READ",
        "message": {"type": "PUSH", "data": {"text": "again", "ttl": 1, "ttlUnit": "HOURS"}},
        "nextLink": {
            "state": "DELIVERED",
            "message": {"type": "SMS", "data": {"text": "sms", "serviceNumber": "RCS"}},
        },
    }
    sub = parse_send(doc).submission()
    assert [(x.state, x.channel) for x in sub.cascade] == [
        (ms.CASCADE_STATE_READ, channel_pb2.CHANNEL_PUSH),
        (ms.CASCADE_STATE_DELIVERED, channel_pb2.CHANNEL_SMS),
    ]
    assert (sub.cascade[0].push.text, sub.cascade[0].ttl.seconds) == ("again", 3600)


def test_read_after_an_sms_link_is_an_invalid_cascade() -> None:
    doc = push_body()
    doc["cascadeChainLink"] = {
        "state": "DELIVERED",
        "message": {"type": "SMS", "data": {"text": "sms"}},
        "nextLink": {"state": "READ", "message": {"type": "PUSH", "data": {"text": "p"}}},
    }
    with pytest.raises(RcsError) as caught:
        parse_send(doc)
    assert (caught.value.reason, caught.value.field) == (
        "INVALID_CASCADE",
        "cascadeChainLink/nextLink/state",
    )
