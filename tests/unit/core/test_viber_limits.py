"""Core's checks of a Viber message (rest_viber.rst's limits), whatever gateway sent it."""

from __future__ import annotations

import datetime as dt

import pytest

from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_core.messages.validation import submission_of, validate
from rcs_runtime.errors import RcsError


def _check(viber: message_pb2.ViberContent, ttl: int = 60) -> bytes | None:
    sub = ms.MessageSubmission(
        destination="79161234567", channel=channel_pb2.CHANNEL_VIBER, viber=viber
    )
    sub.ttl.seconds = ttl
    msg = validate(
        submission_of(sub),
        default_sender="RCS",
        default_ttl=dt.timedelta(hours=1),
        trace_parent="",
    )
    return msg.push


def test_a_valid_button_message_is_stored_with_its_sender() -> None:
    stored = _check(
        message_pb2.ViberContent(text="t", button_caption="Go", button_action="tel:+7916")
    )
    content = message_pb2.ViberContent.FromString(stored or b"")
    assert (content.text, content.button_action, content.service_number) == (
        "t",
        "tel:+7916",
        "RCS",
    )


def test_an_image_alone_needs_no_text() -> None:
    assert _check(message_pb2.ViberContent(image_url="https://i/x.png"))


@pytest.mark.parametrize(
    ("viber", "ttl", "reason", "field"),
    [
        (message_pb2.ViberContent(), 60, "INVALID_TEXT", "viber.text"),
        (message_pb2.ViberContent(text="t" * 1001), 60, "INVALID_TEXT", "text"),
        (
            message_pb2.ViberContent(text="t", button_caption="Go"),
            60,
            "INVALID_REQUEST",
            "viber.button_action",
        ),
        (
            message_pb2.ViberContent(text="t", button_action="https://a"),
            60,
            "INVALID_REQUEST",
            "viber.button_action",
        ),
        (
            message_pb2.ViberContent(text="t", button_caption="G" * 31, button_action="https://a"),
            60,
            "INVALID_TEXT",
            "viber.button_caption",
        ),
        (
            message_pb2.ViberContent(
                text="t", button_caption="Go", button_action="https://" + "a" * 2041
            ),
            60,
            "INVALID_TEXT",
            "viber.button_action",
        ),
        (
            message_pb2.ViberContent(text="t", button_caption="Go", button_action="javascript:x"),
            60,
            "INVALID_REQUEST",
            "viber.button_action",
        ),
        (message_pb2.ViberContent(image_url="ftp://x"), 60, "INVALID_REQUEST", "viber.image_url"),
        (message_pb2.ViberContent(text="t"), 29, "INVALID_TTL", "ttl"),
        (message_pb2.ViberContent(text="t"), 86401, "INVALID_TTL", "ttl"),
    ],
)
def test_viber_limits_are_refused_naming_the_field(
    viber: message_pb2.ViberContent, ttl: int, reason: str, field: str
) -> None:
    with pytest.raises(RcsError) as caught:
        _check(viber, ttl)
    assert (caught.value.reason, caught.value.field) == (reason, field)
