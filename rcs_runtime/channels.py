"""Channels (rcs.common.v1.Channel): their names in the partner APIs, which of them this
installation carries, and each one's limits from Rapporto's documents.

The one place that says which channels are built: gateways refuse the others with
INVALID_MESSAGE_TYPE (REST v6 code 9), core refuses them again, also inside a cascade.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from rcs_runtime.errors import RcsError, Reason

SMS = 1
PUSH = 2
VIBER = 3
WHATSAPP = 4
VK = 5
FLASHINGCALL = 6
IVR = 7
TELEGRAM = 8

# REST v6 message.type (case-insensitive: rest_push.rst writes both "Push" and "PUSH").
NAMES = {
    SMS: "SMS",
    PUSH: "PUSH",
    VIBER: "VIBER",
    WHATSAPP: "WHATSAPP",
    VK: "VK",
    FLASHINGCALL: "FLASHINGCALL",
    IVR: "IVR",
    TELEGRAM: "TELEGRAM",
}
BY_NAME = {name: channel for channel, name in NAMES.items()}
# HTTP v5 order_list letters (http_cascade.rst).
BY_LETTER = {"s": SMS, "p": PUSH, "i": VIBER, "v": VK, "w": WHATSAPP, "f": FLASHINGCALL}

BUILT = frozenset({SMS, PUSH, VIBER, WHATSAPP, TELEGRAM, VK, FLASHINGCALL})
# Channels whose messages can be READ; the others (SMS, FlashingCall: rest_status.rst) can
# only be cascaded on DELIVERED (rest_cascade.rst, http_cascade.rst "S").
READABLE = frozenset({PUSH, VIBER, WHATSAPP, VK, TELEGRAM})


@dataclass(frozen=True, slots=True)
class Limits:
    """What a message of one channel may carry."""

    max_text: int
    min_ttl: dt.timedelta
    max_ttl: dt.timedelta


LIMITS = {
    # REST_BATCH allows 3 days; REST v6 and HTTP v5 keep their own 48 h at the gateway.
    SMS: Limits(2000, dt.timedelta(seconds=1), dt.timedelta(days=3)),
    # rest_push.rst: text at most 1000 characters, ttl 30 to 86400 seconds.
    PUSH: Limits(1000, dt.timedelta(seconds=30), dt.timedelta(seconds=86400)),
    # rest_viber.rst: text at most 1000 characters, ttl 30 to 86400 seconds.
    VIBER: Limits(1000, dt.timedelta(seconds=30), dt.timedelta(seconds=86400)),
    # rest_whatsapp.rst: text at most 1000 characters, ttl 1440 to 10080 minutes in whole days.
    WHATSAPP: Limits(1000, dt.timedelta(days=1), dt.timedelta(days=7)),
    # rest_telegram.rst: text at most 1000 characters, ttl 30 to 86400 seconds.
    TELEGRAM: Limits(1000, dt.timedelta(seconds=30), dt.timedelta(seconds=86400)),
    # http_vk.rst: text at most 2048 characters (REST v6 keeps rest_vk.rst's 2000 at the
    # gateway); rest_vk.rst: ttl 60 to 86400 seconds.
    VK: Limits(2048, dt.timedelta(seconds=60), dt.timedelta(seconds=86400)),
    # rest_flashcall.rst: text at most 2000 characters holding the code; ttl 1 to 5 minutes.
    FLASHINGCALL: Limits(2000, dt.timedelta(minutes=1), dt.timedelta(minutes=5)),
}
TELEGRAM_MAX_LINK = 256  # rest_telegram.rst, message/data/link
WHATSAPP_TTL_STEP = dt.timedelta(days=1)  # rest_whatsapp.rst: ttl "кратно суткам"
# Channels whose body is a ViberContent (service number, text, image, button): WhatsApp's
# text or image (rest_whatsapp.rst) is a subset of Viber's shapes, so it travels in the same
# message rather than a copy of it; so does Telegram's text + link (the link as the button's
# action, rest_telegram.rst).
MESSENGER_CONTENT = frozenset({VIBER, WHATSAPP, TELEGRAM})
VK_V6_MAX_TEXT = 2000  # rest_vk.rst, message/data/text
# rest_flashcall.rst: the caller number ends in the code, 4 to 6 digits, given in the text.
FLASHCALL_CODE = re.compile(r"(?<!\d)\d{4,6}(?!\d)")
VIBER_MAX_CAPTION = 30  # rest_viber.rst, instantContent/data/caption
VIBER_MAX_ACTION = 2048  # instantContent/data/action
VIBER_ACTION_SCHEMES = ("http://", "https://", "viber://", "mailto:", "tel:")
VIBER_MAX_IMAGE_URL = 2048  # not in rest_viber.rst; a link's limit, so a URL is bounded
PUSH_MAX_TITLE = 80  # rest_push.rst, title
PUSH_MAX_URL = 512  # contentUrl
PUSH_MAX_BUTTON_TEXT = 64  # content.actions[].title
PUSH_MAX_BUTTON_URL = 300  # content.actions[].options


def name_of(channel: int) -> str:
    return NAMES.get(channel, str(channel))


def built_list() -> str:
    """The built channels' names for an error message: "SMS, PUSH, VIBER and WHATSAPP"."""
    names = [NAMES[c] for c in sorted(BUILT)]
    return ", ".join(names[:-1]) + " and " + names[-1]


def is_built(channel: int) -> bool:
    return channel in BUILT


# What names a channel in each partner API, for refusing the ones not built (robust2).
BUILT_NAMES = frozenset(NAMES[c] for c in BUILT)
V6_TYPES = frozenset(NAMES.values())  # REST v6 message/type values, upper-cased
# HTTP v5 parameters that only a Viber request has (http_viber.rst). imageUrl, buttonText
# and buttonLink are push parameters too (http_push.rst), so they name no channel alone.
# WhatsApp, VK and FlashingCall requests look like an SMS one: their channel is the
# serviceId's own service (SERVICE_TYPES): gateways/rest/http_v5_channels.py.
HTTP_V5_PARAMETERS = {"viberTtl": "VIBER"}
# A login's service type (partners.service_type, migration 0110): what a plain HTTP v5
# request of the login sends (http_flashcall.rst: "указать тип сообщения FlashingCall").
SERVICE_TYPES = frozenset({"SMS", "PUSH", "VIBER", "WHATSAPP", "VK", "FLASHINGCALL"})


def require_built(
    channel: str, *, named_by: str, field: str = "", built: frozenset[str] = BUILT_NAMES
) -> None:
    """INVALID_MESSAGE_TYPE unless the channel ``channel`` names is in ``built`` (what this
    installation, or the asking API, carries); ``named_by`` says what asked for it."""
    if channel in built:
        return
    raise RcsError(
        Reason.INVALID_MESSAGE_TYPE,
        f"{channel} messages ({named_by}) are not available on this installation;"
        f" only {', '.join(sorted(built))} are",
        field=field,
    )
