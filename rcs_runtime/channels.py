"""The channels this installation delivers, and what names one in each partner API.

A request for a channel not in ``BUILT`` is refused INVALID_MESSAGE_TYPE by every gateway
(REST v6 406 code 9, HTTP v5 400, SMPP 0x45) instead of going out as a plain SMS. The
channel work adds its channel to ``BUILT`` here, and nowhere else; cascades (HTTP v5
``order_list``, REST v6 ``cascadeChainLink``, SMPP 0x1444 / 0x1437) are the cascade
engine's to accept or refuse.
"""

from __future__ import annotations

from typing import Final

from rcs_runtime.errors import RcsError

BUILT: Final[frozenset[str]] = frozenset({"SMS"})

# REST v6 message/type values (rest_*.rst), upper-cased.
V6_TYPES: Final[frozenset[str]] = frozenset(
    {"SMS", "VIBER", "VK", "PUSH", "WHATSAPP", "TELEGRAM", "FLASHINGCALL", "IVR"}
)
# HTTP v5 parameters that only a channel's request has (http_viber.rst). WhatsApp, VK and
# FlashingCall requests look like an SMS one: their channel is the serviceId's own service,
# and every serviceId here is an SMS service.
HTTP_V5_PARAMETERS: Final[dict[str, str]] = {
    "imageUrl": "VIBER",
    "buttonText": "VIBER",
    "buttonLink": "VIBER",
    "viberTtl": "VIBER",
}
# Rapporto's SMPP TLVs that make a submit_sm a Viber message (SMPP_API.txt, table 4).
SMPP_TLVS: Final[dict[int, str]] = {
    0x1433: "VIBER",  # action (button link)
    0x1434: "VIBER",  # caption (button text)
    0x1435: "VIBER",  # viberTTL
    0x1436: "VIBER",  # imageURL
}


def require_built(channel: str, *, named_by: str, field: str = "") -> None:
    """INVALID_MESSAGE_TYPE unless ``channel`` is built; ``named_by`` says what asked for it."""
    if channel in BUILT:
        return
    raise RcsError(
        "INVALID_MESSAGE_TYPE",
        f"{channel} messages ({named_by}) are not available on this installation;"
        f" only {', '.join(sorted(BUILT))} is",
        field=field,
    )
