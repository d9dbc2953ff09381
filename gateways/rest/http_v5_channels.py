"""HTTP API v5 messages of a login whose service is not SMS, the pure part.

A v5 request names no message type: the login's service does (``Partner.service_type``,
http_auth.rst: the service provider gives the partner a serviceId per service;
http_flashcall.rst: "указать тип сообщения FlashingCall"). A plain request (no
``order_list``) of a VIBER, WHATSAPP, VK or FLASHINGCALL service is checked here, field
for field from its document, with the documented answers (400 bad parameters, 414 a
``message`` over the type's length):

- http_viber.rst: ``message`` (at most 1000), ``imageUrl`` (http:// or https://),
  ``buttonText`` (at most 30) with ``buttonLink`` (http, https, viber, tel, mailto; at
  most 2048), in the four combinations the document lists; ``viberTtl`` in seconds, values
  outside 30-86,400 rounded to them ("будут к ним округлены"), none: the login's default.
- http_whatsapp.rst: text only (at most 1000); the validity is the login's (core rounds it
  up to whole days).
- http_vk.rst: text (at most 2048), ``source`` the community; validity the login's, within
  1 minute to 24 hours (VK's own 60 s minimum: rest_vk.rst).
- http_flashcall.rst: a text (at most 2000) holding a 4- or 6-digit code, else "400,
  Invalid request, Flashing Call text should contain a 4(6)-digit code"; validity 1-5 min.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rcs.common.v1 import message_pb2
from rcs_runtime import channels
from rcs_runtime.errors import RcsError, Reason

VIBER_PARAMETERS = ("imageUrl", "buttonText", "buttonLink")
VIBER_MIN_TTL, VIBER_MAX_TTL = 30, 86400  # http_viber.rst, viberTtl
MAX_VIBER_TTL_DIGITS = 9
# http_flashcall.rst's own error text for a text without the code.
FLASHCALL_NO_CODE = "Flashing Call text should contain a 4(6)-digit code"
# http_viber.rst, note: "message; imageUrl; message + buttonText + buttonLink;
# message + imageUrl + buttonText + buttonLink".
_VIBER_SHAPES = frozenset(
    {
        (True, False, False),
        (False, True, False),
        (True, False, True),
        (True, True, True),
    }
)


@dataclass(frozen=True, slots=True)
class Plain:
    """The channel, content and validity of a plain request of a non-SMS service."""

    channel: int
    viber: message_pb2.ViberContent | None  # VIBER, WHATSAPP; VK and FlashingCall: None
    ttl_seconds: int  # 0: the login's default as core applies it


def _invalid(message: str, field: str) -> RcsError:
    return RcsError(Reason.INVALID_REQUEST, message, field=field)


def max_text(channel: int) -> int:
    """The longest ``message`` of a plain request of ``channel`` (414 beyond)."""
    return channels.LIMITS[channel].max_text


def message_required(channel: int, params: Mapping[str, str]) -> bool:
    """Viber may send an image alone; every other type needs ``message``."""
    return not (channel == channels.VIBER and params.get("imageUrl"))


def _clamp(seconds: int, low: int, high: int) -> int:
    return min(max(seconds, low), high)


def _viber_ttl(params: Mapping[str, str], default_ttl_seconds: int) -> int:
    raw = params.get("viberTtl")
    if raw is None:
        return _clamp(default_ttl_seconds or VIBER_MAX_TTL, VIBER_MIN_TTL, VIBER_MAX_TTL)
    value = raw.strip()
    digits = value[1:] if value[:1] in "+-" else value
    if not digits.isascii() or not digits.isdigit() or len(digits) > MAX_VIBER_TTL_DIGITS:
        raise _invalid(
            "viberTtl must be an integer number of seconds, 30 to 86400", field="viberTtl"
        )
    return _clamp(int(value), VIBER_MIN_TTL, VIBER_MAX_TTL)


def _viber(params: Mapping[str, str], message: str, source: str, default_ttl_seconds: int) -> Plain:
    image = params.get("imageUrl", "")
    caption, link = params.get("buttonText", ""), params.get("buttonLink", "")
    if bool(caption) != bool(link):
        missing = "buttonLink" if caption else "buttonText"
        raise _invalid(
            "buttonText and buttonLink go together (http_viber.rst)"
            f"; {missing} is missing or empty",
            field=missing,
        )
    if image and not image.startswith(("http://", "https://")):
        raise _invalid("imageUrl must begin with http:// or https://", field="imageUrl")
    if len(image) > channels.VIBER_MAX_IMAGE_URL:
        raise _invalid(
            f"imageUrl is longer than {channels.VIBER_MAX_IMAGE_URL} characters", field="imageUrl"
        )
    if len(caption) > channels.VIBER_MAX_CAPTION:
        raise _invalid(
            f"buttonText is at most {channels.VIBER_MAX_CAPTION} characters", field="buttonText"
        )
    if link and not link.startswith(channels.VIBER_ACTION_SCHEMES):
        raise _invalid(
            "buttonLink must begin with http://, https://, viber://, tel: or mailto:",
            field="buttonLink",
        )
    if len(link) > channels.VIBER_MAX_ACTION:
        raise _invalid(
            f"buttonLink is longer than {channels.VIBER_MAX_ACTION} characters",
            field="buttonLink",
        )
    if (bool(message), bool(image), bool(caption)) not in _VIBER_SHAPES:
        raise _invalid(
            "a Viber message is message; imageUrl; message + buttonText + buttonLink; or"
            " message + imageUrl + buttonText + buttonLink (http_viber.rst)",
            field="imageUrl" if image else "message",
        )
    content = message_pb2.ViberContent(
        service_number=source,
        text=message,
        image_url=image,
        button_caption=caption,
        button_action=link,
    )
    return Plain(channels.VIBER, content, _viber_ttl(params, default_ttl_seconds))


def plain_of(
    channel: int,
    params: Mapping[str, str],
    message: str,
    source: str,
    default_ttl_seconds: int,
) -> Plain:
    """The message of a plain request of a ``channel`` service; ``message`` is present
    (or, for Viber, an image) and within ``max_text`` already."""
    if channel != channels.VIBER and "viberTtl" in params:
        raise _invalid(
            f"viberTtl is a Viber parameter; this login's service sends"
            f" {channels.name_of(channel)}",
            field="viberTtl",
        )
    if channel == channels.VIBER:
        return _viber(params, message, source, default_ttl_seconds)
    if channel == channels.WHATSAPP:
        given = [p for p in VIBER_PARAMETERS if p in params]
        if given:
            raise _invalid(
                "WhatsApp over the HTTP API sends text only (http_whatsapp.rst);"
                f" remove {', '.join(given)}",
                field=given[0],
            )
        return Plain(channel, message_pb2.ViberContent(service_number=source, text=message), 0)
    limits = channels.LIMITS[channel]
    low, high = int(limits.min_ttl.total_seconds()), int(limits.max_ttl.total_seconds())
    if channel == channels.FLASHINGCALL and len(channels.FLASHCALL_CODE.findall(message)) != 1:
        raise _invalid(FLASHCALL_NO_CODE, field="message")
    # The validity of VK and FlashingCall is the login's (the provider's setting, per the
    # documents), kept within the channel's range.
    return Plain(channel, None, _clamp(default_ttl_seconds or high, low, high))
