"""Checks of a push's content and of a cascade's chain, done before anything is stored.

Pure: no I/O. A cascade is refused whole, naming the link (``cascade[1].ttl``), when any
link is wrong, so a partner never gets an id for a chain that would stop half-way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rcs.common.v1 import message_pb2
from rcs.core.v1 import message_service_pb2
from rcs_core.messages.statuses import Status
from rcs_runtime import channels
from rcs_runtime.errors import RcsError, Reason

MAX_LINKS = 6  # rest_cascade.rst lists 7 types; one message of each at most
_STATE = {
    message_service_pb2.CASCADE_STATE_DELIVERED: Status.DELIVERED,
    message_service_pb2.CASCADE_STATE_READ: Status.READ,
}


@dataclass(frozen=True, slots=True)
class Checked:
    """A cascade as stored: the links after the first (serialized CascadeLink) and the
    status the first message must reach in time for the second not to be sent."""

    links: list[bytes]
    wait_for: int


def wait_for_of(state: int) -> Status:
    return _STATE[state]  # type: ignore[index]


def check_chain(first_channel: int, links: Sequence[message_service_pb2.CascadeLink]) -> None:
    """The chain's rules, whatever its channels carry: at most MAX_LINKS links, each with
    a state, READ only after a message that can be read (not SMS, not FlashingCall)."""
    if len(links) > MAX_LINKS:
        raise RcsError(
            Reason.INVALID_CASCADE,
            f"a cascade has at most {MAX_LINKS} links after the first message",
            field="cascade",
        )
    previous = first_channel
    for n, link in enumerate(links, 1):
        field = f"cascade[{n}]."
        if link.state not in _STATE:
            raise RcsError(
                Reason.INVALID_CASCADE, "state must be DELIVERED or READ", field=f"{field}state"
            )
        if link.state == message_service_pb2.CASCADE_STATE_READ and (
            previous not in channels.READABLE
        ):
            raise RcsError(
                Reason.INVALID_CASCADE,
                f"a {channels.name_of(previous)} message has no READ status, so the link"
                " after it can only be sent on DELIVERED (rest_cascade.rst)",
                field=f"{field}state",
            )
        previous = link.channel


def check(
    first_channel: int,
    links: Sequence[message_service_pb2.CascadeLink],
    check_link: Callable[[message_service_pb2.CascadeLink, str], Any],
) -> Checked:
    """The stored form of a cascade whose first message is of ``first_channel``, or
    RcsError naming the link at fault; ``check_link(link, field_prefix)`` checks one
    link's message as its channel requires."""
    check_chain(first_channel, links)
    for n, link in enumerate(links, 1):
        field = f"cascade[{n}]."
        if not channels.is_built(link.channel):
            raise RcsError(
                Reason.INVALID_MESSAGE_TYPE,
                f"{channels.name_of(link.channel)} messages are not available on this"
                f" installation yet, also inside a cascade ({channels.built_list()} are)",
                field=f"{field}channel",
            )
        check_link(link, field)
    return Checked([link.SerializeToString() for link in links], int(wait_for_of(links[0].state)))


def _too_long(value: str, limit: int, field: str, what: str) -> None:
    if len(value) > limit:
        raise RcsError(
            Reason.INVALID_TEXT, f"{what} is longer than {limit} characters", field=field
        )


def check_push(push: message_pb2.PushContent, field: str = "") -> None:
    """rest_push.rst's limits on what a push carries besides its text."""
    _too_long(push.title, channels.PUSH_MAX_TITLE, f"{field}push.title", "a push title")
    _too_long(push.image_url, channels.PUSH_MAX_URL, f"{field}push.image_url", "contentUrl")
    _too_long(push.link_url, channels.PUSH_MAX_URL, f"{field}push.link_url", "contentUrl")
    for b in push.buttons:
        _too_long(b.text, channels.PUSH_MAX_BUTTON_TEXT, f"{field}push.buttons", "a button title")
        _too_long(
            b.action_url, channels.PUSH_MAX_BUTTON_URL, f"{field}push.buttons", "a button's options"
        )
    if push.custom_payload_json:
        try:
            doc = json.loads(push.custom_payload_json)
        except ValueError as exc:
            raise RcsError(
                Reason.INVALID_REQUEST,
                "customPayload must be a JSON object",
                field=f"{field}push.custom_payload_json",
            ) from exc
        if not isinstance(doc, dict):
            raise RcsError(
                Reason.INVALID_REQUEST,
                "customPayload must be a JSON object",
                field=f"{field}push.custom_payload_json",
            )


def check_viber(viber: message_pb2.ViberContent, field: str = "", name: str = "VIBER") -> None:
    """rest_viber.rst's four shapes: text; image; text + button; text + image + button.
    A caption without a link (or a link without a caption) is refused: Viber would show a
    button that does nothing. WHATSAPP (``name``) has two: text alone or an image alone."""
    if not viber.text and not viber.image_url:
        raise RcsError(
            Reason.INVALID_TEXT,
            f"a {name} message needs a text or an imageURL",
            field=f"{field}viber.text",
        )
    if name == "TELEGRAM":
        _check_telegram(viber, field)
        return
    if name == "WHATSAPP" and (
        (viber.text and viber.image_url) or viber.button_caption or viber.button_action
    ):
        raise RcsError(
            Reason.INVALID_REQUEST,
            "a WHATSAPP message is a text alone or an image alone (rest_whatsapp.rst)",
            field=f"{field}viber",
        )
    _too_long(viber.image_url, channels.VIBER_MAX_IMAGE_URL, f"{field}viber.image_url", "imageURL")
    if viber.image_url and not viber.image_url.startswith(("http://", "https://")):
        raise RcsError(
            Reason.INVALID_REQUEST,
            "imageURL must be an http:// or https:// address of a JPG or PNG",
            field=f"{field}viber.image_url",
        )
    if bool(viber.button_caption) != bool(viber.button_action):
        raise RcsError(
            Reason.INVALID_REQUEST,
            "a Viber button needs both caption and action (its link)",
            field=f"{field}viber.button_action",
        )
    if viber.button_caption and not viber.text:
        raise RcsError(
            Reason.INVALID_TEXT,
            "a Viber button goes with a text (rest_viber.rst: text + button)",
            field=f"{field}viber.text",
        )
    _too_long(
        viber.button_caption, channels.VIBER_MAX_CAPTION, f"{field}viber.button_caption", "caption"
    )
    _too_long(
        viber.button_action, channels.VIBER_MAX_ACTION, f"{field}viber.button_action", "action"
    )
    if viber.button_action and not viber.button_action.startswith(channels.VIBER_ACTION_SCHEMES):
        raise RcsError(
            Reason.INVALID_REQUEST,
            "a button's action must start with http://, https://, viber://, mailto: or tel:",
            field=f"{field}viber.button_action",
        )


def _check_telegram(content: message_pb2.ViberContent, field: str) -> None:
    """rest_telegram.rst: text, or text + link (at most 256 characters)."""
    if content.image_url or content.button_caption:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "a TELEGRAM message is a text, or a text and a link (rest_telegram.rst)",
            field=f"{field}viber",
        )
    if len(content.button_action) > channels.TELEGRAM_MAX_LINK:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "В сообщении превышен лимит значения у параметра link: link is longer than"
            f" {channels.TELEGRAM_MAX_LINK} characters",
            field=f"{field}link",
        )
