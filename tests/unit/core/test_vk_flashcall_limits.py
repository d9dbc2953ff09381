"""Core's checks of VK and FlashingCall messages (rest_vk.rst, http_vk.rst,
rest_flashcall.rst), whatever gateway sent them."""

from __future__ import annotations

import datetime as dt

import pytest

from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_core.messages.model import NewMessage
from rcs_core.messages.validation import submission_of, validate
from rcs_runtime.errors import RcsError

VK, FC = channel_pb2.CHANNEL_VK, channel_pb2.CHANNEL_FLASH_CALL


def _check(
    channel: int, text: str, ttl: int = 0, sender: str = "", default: str = "RCS"
) -> NewMessage:
    sub = ms.MessageSubmission(
        destination="79161234567",
        channel=channel,  # type: ignore[arg-type]
        sms=message_pb2.SmsContent(text=text, sender=sender),
    )
    sub.ttl.seconds = ttl
    return validate(
        submission_of(sub),
        default_sender=default,
        default_ttl=dt.timedelta(days=1),
        trace_parent="",
    )


def test_vk_is_stored_as_a_text_with_its_community() -> None:
    msg = _check(VK, "привет", 600, "mygroup")
    assert (msg.body, msg.sender, msg.ttl, msg.push) == (
        "привет",
        "mygroup",
        dt.timedelta(minutes=10),
        None,
    )
    assert _check(VK, "x" * 2048, 60).ttl == dt.timedelta(seconds=60)  # http_vk.rst's 2048


def test_flashcall_needs_one_code_and_waits_5_minutes_at_most() -> None:
    msg = _check(FC, "Ваш код 12345", default="")
    assert (msg.body, msg.sender) == ("Ваш код 12345", "")
    assert msg.ttl == dt.timedelta(minutes=5)  # the partner's day, cut to the channel's 5 min
    assert _check(FC, "123456", 60).ttl == dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("channel", "text", "ttl", "sender", "reason", "says"),
    [
        (VK, "x" * 2049, 60, "g", "INVALID_TEXT", "longer than 2048"),
        (VK, "", 60, "g", "INVALID_TEXT", "must not be empty"),
        (VK, "t", 59, "g", "INVALID_TTL", "60 to 86400"),
        (VK, "t", 86401, "g", "INVALID_TTL", "60 to 86400"),
        (FC, "123", 60, "", "INVALID_TEXT", "4-6 digit code"),
        (FC, "1234567", 60, "", "INVALID_TEXT", "4-6 digit code"),
        (FC, "1234 5678", 60, "", "INVALID_TEXT", "found 2"),
        (FC, "1234", 59, "", "INVALID_TTL", "60 to 300"),
        (FC, "1234", 301, "", "INVALID_TTL", "60 to 300"),
    ],
)
def test_out_of_range_is_refused(
    channel: int, text: str, ttl: int, sender: str, reason: str, says: str
) -> None:
    with pytest.raises(RcsError) as caught:
        _check(channel, text, ttl, sender)
    assert caught.value.reason == reason
    assert says in caught.value.message


def test_vk_without_a_community_is_refused() -> None:
    with pytest.raises(RcsError) as caught:
        _check(VK, "t", 60, "", default="")
    assert caught.value.reason == "INVALID_SENDER"
