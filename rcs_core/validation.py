"""Validation of submissions, shared by every gateway because it runs in core."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from rcs_core.numbers import normalize_msisdn
from rcs_core.storage.messages import NewMessage
from rcs_runtime.errors import RcsError

CHANNEL_SMS = 1
MAX_TEXT_CHARS = 2000
MIN_TTL = dt.timedelta(seconds=1)
# REST_BATCH allows 3 days; REST v6 and HTTP v5 keep their own 48 h limit at the gateway.
MAX_TTL = dt.timedelta(days=3)
RECEIPT_ALL = 2
TRAFFIC_TYPES = (0, 1, 2, 5, 6, 7)
MAILING = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


@dataclass(frozen=True, slots=True)
class Submission:
    client_ref: str
    destination: str
    channel: int
    text: str
    sender: str
    priority: int
    ttl: dt.timedelta
    receipt_request: int
    traffic_type: int | None = None
    mailing: str = ""


def validate(
    sub: Submission, *, default_sender: str, default_ttl: dt.timedelta, trace_parent: str
) -> NewMessage:
    """A storable message, or RcsError naming the field and what to change."""
    if sub.channel != CHANNEL_SMS:
        raise RcsError(
            "INVALID_MESSAGE_TYPE", "only SMS is enabled on this installation", field="channel"
        )
    destination = normalize_msisdn(sub.destination)
    if destination is None:
        raise RcsError(
            "INVALID_DESTINATION",
            "destination must be 10–15 digits with country code, e.g. 79161234567",
            field="destination",
        )
    if not sub.text:
        raise RcsError("INVALID_TEXT", "text must not be empty", field="text")
    if "\x00" in sub.text:
        raise RcsError("INVALID_TEXT", "text must not contain NUL characters", field="text")
    if len(sub.text) > MAX_TEXT_CHARS:
        raise RcsError(
            "INVALID_TEXT", f"text is longer than {MAX_TEXT_CHARS} characters", field="text"
        )
    sender = sub.sender or default_sender
    if not sender or len(sender) > 21:
        raise RcsError(
            "INVALID_SENDER",
            "serviceNumber is required (no default is set for this login) and at most 21 chars",
            field="sender",
        )
    ttl = sub.ttl or default_ttl
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise RcsError("INVALID_TTL", "ttl must be between 1 second and 3 days", field="ttl")
    if not 0 <= sub.priority <= 2:
        raise RcsError("INVALID_REQUEST", "priority must be 0, 1 or 2", field="priority")
    if sub.traffic_type is not None and sub.traffic_type not in TRAFFIC_TYPES:
        raise RcsError(
            "INVALID_REQUEST",
            "trafficType must be 0, 1, 2, 5, 6 or 7 (Rapporto's traffic types)",
            field="traffic_type",
        )
    if sub.mailing and not MAILING.fullmatch(sub.mailing):
        raise RcsError("INVALID_REQUEST", "mailing: 1-64 of A-Z a-z 0-9 _ . @ -", field="mailing")
    return NewMessage(
        client_ref=sub.client_ref or None,
        channel=sub.channel,
        destination=destination,
        sender=sender,
        body=sub.text,
        priority=sub.priority,
        ttl=ttl,
        receipt_request=sub.receipt_request or RECEIPT_ALL,
        trace_parent=trace_parent,
        traffic_type=sub.traffic_type,
        mailing=sub.mailing,
    )
