"""One push in each push service's terms (F33): rich content, custom payload, TTL,
collapse key and priority."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from rcs.common.v1 import message_pb2
from rcs_rpns.providers import payload

RICH = message_pb2.PushContent(
    service_number="APP",
    title="Sale",
    text="50% off today",
    image_url="https://cdn.example/sale.png",
    buttons=[message_pb2.PushButton(text="Open", action_url="https://shop.example/sale")],
    link_url="https://shop.example/webview",
    custom_payload_json='{"orderId": 42}',
    collapse_key="sale-1",
    priority=message_pb2.PUSH_PRIORITY_NORMAL,
    content_category="promo",
)
N = payload.Notification("1234", RICH, ttl_seconds=600, expires_at=1_900_000_000)


def test_apns_gets_headers_mutable_content_and_the_custom_keys_beside_aps() -> None:
    headers, body = payload.apns(N, topic="ru.example.app")
    assert headers == {
        "apns-topic": "ru.example.app",
        "apns-push-type": "alert",
        "apns-priority": "5",
        "apns-expiration": "1900000000",
        "apns-collapse-id": "sale-1",
    }
    doc = json.loads(body)
    assert doc["aps"]["alert"] == {"title": "Sale", "body": "50% off today"}
    assert doc["aps"]["mutable-content"] == 1
    assert doc["aps"]["category"] == "RPNS_BUTTONS"
    assert doc["orderId"] == 42
    assert doc["rpns"] == {
        "pushId": "1234",
        "image": "https://cdn.example/sale.png",
        "link": "https://shop.example/webview",
        "buttons": [{"text": "Open", "url": "https://shop.example/sale"}],
        "contentCategory": "promo",
    }


def test_fcm_and_rustore_carry_string_data_and_android_options() -> None:
    doc = json.loads(payload.fcm(N, token="tok"))["message"]
    assert doc["token"] == "tok"
    assert doc["notification"]["image"] == "https://cdn.example/sale.png"
    assert doc["android"] == {
        "priority": "NORMAL",
        "ttl": "600s",
        "collapse_key": "sale-1",
        "notification": {"click_action": "https://shop.example/webview"},
    }
    assert all(isinstance(v, str) for v in doc["data"].values())
    assert json.loads(doc["data"]["custom"]) == {"orderId": 42}
    assert json.loads(doc["data"]["rpns"])["pushId"] == "1234"
    rustore = json.loads(payload.rustore(N, token="tok"))["message"]
    assert rustore["android"]["ttl"] == "600s"
    assert "priority" not in rustore["android"]


def test_hms_takes_many_tokens_a_numeric_collapse_key_and_the_web_view() -> None:
    doc = json.loads(payload.hms(N, tokens=["a", "b"]))
    message = doc["message"]
    assert message["token"] == ["a", "b"]
    android = message["android"]
    assert (android["urgency"], android["ttl"]) == ("NORMAL", "600s")
    assert 0 <= android["collapse_key"] <= 100
    assert android["notification"]["click_action"] == {
        "type": 2,
        "url": "https://shop.example/webview",
    }
    assert json.loads(message["data"])["custom"] == {"orderId": 42}


def test_high_priority_is_the_default() -> None:
    plain = payload.Notification("1", message_pb2.PushContent(text="hi"), 60, 0)
    assert payload.apns(plain, topic="t")[0]["apns-priority"] == "10"
    assert json.loads(payload.fcm(plain, token="t"))["message"]["android"]["priority"] == "HIGH"
    assert "mutable-content" not in json.loads(payload.apns(plain, topic="t")[1])["aps"]


def test_an_empty_push_fits_in_the_fixed_bytes_fits_surely_allows() -> None:
    empty = message_pb2.PushContent(priority=message_pb2.PUSH_PRIORITY_NORMAL)
    assert payload.largest_size(empty) <= payload._FIXED_BYTES
    assert payload.fits_surely(message_pb2.PushContent(title="Order shipped", text="Push 1"))


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    title=_text,
    text=_text,
    image=_text,
    link=_text,
    category=_text,
    collapse=_text,
    buttons=st.lists(st.tuples(_text, _text), max_size=8),
    normal=st.booleans(),
)
def test_a_push_fits_surely_says_fits_is_never_over_the_limit(
    title: str,
    text: str,
    image: str,
    link: str,
    category: str,
    collapse: str,
    buttons: list[tuple[str, str]],
    normal: bool,
) -> None:
    content = message_pb2.PushContent(
        service_number="APP",
        title=title,
        text=text,
        image_url=image,
        link_url=link,
        content_category=category,
        collapse_key=collapse,
        buttons=[message_pb2.PushButton(text=t, action_url=u) for t, u in buttons],
        priority=message_pb2.PUSH_PRIORITY_NORMAL if normal else message_pb2.PUSH_PRIORITY_HIGH,
    )
    if payload.fits_surely(content):
        assert payload.largest_size(content) <= payload.MAX_PAYLOAD


def test_a_custom_payload_always_takes_the_exact_size() -> None:
    # "1e15" is 4 bytes and re-encodes as 18: only building the payloads tells.
    content = message_pb2.PushContent(title="t", custom_payload_json='{"n": 1e15}')
    assert not payload.fits_surely(content)
