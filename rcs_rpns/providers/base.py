"""What a push service answered about one token, as the sender acts on it.

The rule the issue sets: a token is disabled only when the push service says the token
itself is dead (APNs 410 / BadDeviceToken, FCM UNREGISTERED, HMS 80300007 / illegal
tokens, RuStore 404). Auth and quota errors never disable a token: they say nothing
about it."""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass
from enum import Enum

from rcs_rpns.providers.transport import Reply, TransportError


class Kind(Enum):
    SENT = "sent"  # the push service took it; the device confirms later
    INVALID_TOKEN = "invalid_token"  # noqa: S105 (a device token is dead: disable the install)
    RETRY = "retry"  # transient (quota, 5xx, connection): again after retry_after
    FAILED = "failed"  # for good, token kept (auth, payload refused)


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Kind
    detail: str = ""
    retry_after: float | None = None  # seconds the service asked for, if it did


SENT = Outcome(Kind.SENT)


def retry_after(response: Reply) -> float | None:
    """Retry-After as seconds (delta or HTTP date), None when absent or unreadable."""
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    if raw.strip().isdigit():
        return float(raw.strip())
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def transport_failure(err: TransportError, provider: str) -> Outcome:
    return Outcome(Kind.RETRY, f"{provider}_transport_{err.kind}")


def json_or_empty(response: Reply) -> dict[str, object]:
    try:
        value = json.loads(response.body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
