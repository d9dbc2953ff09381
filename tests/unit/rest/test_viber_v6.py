"""REST v6 type VIBER (rest_viber.rst): instantContent TEXT, IMAGE_URL and BUTTON."""

from __future__ import annotations

from typing import Any

import pytest

from gateways.rest.parsing import parse_send
from rcs.common.v1 import channel_pb2
from rcs_runtime.errors import RcsError


def viber(kind: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "login": "demo",
        "password": "demo",
        "destAddr": "79161234567",
        "message": {
            "type": "VIBER",
            "data": {
                "instantContent": {"type": kind, "data": data},
                "serviceNumber": "RCS",
                **extra,
            },
        },
    }


def test_button_with_image_becomes_the_submissions_viber_content() -> None:
    req = parse_send(
        viber(
            "BUTTON",
            {"text": "t", "imageURL": "https://i", "caption": "Go", "action": "https://a"},
            ttl=5,
        )
    )
    sub = req.submission()
    assert sub.channel == channel_pb2.CHANNEL_VIBER
    assert not sub.HasField("sms")
    v = sub.viber
    assert (v.text, v.image_url, v.button_caption, v.button_action, v.service_number) == (
        "t",
        "https://i",
        "Go",
        "https://a",
        "RCS",
    )
    assert sub.ttl.seconds == 300  # ttlUnit defaults to MINUTES


def test_text_type_takes_only_the_text() -> None:
    sub = parse_send(viber("TEXT", {"text": "t", "caption": "Go"})).submission()
    assert (sub.viber.text, sub.viber.button_caption) == ("t", "")


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("BUTTON", {"text": "t", "caption": "Go"}, "message/data/instantContent/data/action"),
        (
            "BUTTON",
            {"text": "t", "action": "https://a"},
            "message/data/instantContent/data/caption",
        ),
        ("IMAGE_URL", {"text": "t"}, "message/data/instantContent/data/imageURL"),
        ("TEXT", {}, "message/data/instantContent/data/text"),
        ("VIDEO", {"text": "t"}, "message/data/instantContent/type"),
    ],
)
def test_incomplete_content_is_refused_naming_the_field(
    kind: str, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(RcsError) as caught:
        parse_send(viber(kind, data))
    assert (caught.value.reason, caught.value.field) == ("INVALID_REQUEST", field)


def test_missing_instant_content_is_refused() -> None:
    doc = viber("TEXT", {"text": "t"})
    del doc["message"]["data"]["instantContent"]
    with pytest.raises(RcsError) as caught:
        parse_send(doc)
    assert caught.value.field == "message/data/instantContent"
