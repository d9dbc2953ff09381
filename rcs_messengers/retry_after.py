"""A provider's Retry-After header (RFC 9110 10.2.3) as seconds from now: the hint passed
to core with a RETRY outcome, so the dispatcher does not call the provider again before
the provider said it would take the call."""

from __future__ import annotations

import datetime as dt
import email.utils

# The statuses whose Retry-After means "try again then" (RFC 6585 4, RFC 9110 15.6.4).
HINTED_STATUSES = frozenset({429, 503})


def seconds_of(value: str | None, now: dt.datetime | None = None) -> float:
    """delay-seconds or an HTTP-date, as seconds from ``now`` (0: none, unreadable or past)."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:  # an HTTP-date is GMT; a zone-less one is read as such
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())
