"""Partners' sending windows (Rapporto's scheduleInfo, HTTP v5 sending_time), pure.

The gateways use it to compute when a message may first go, and routing to hold a message
that is about to go outside its window (in the subscriber's own zone when the partner asked
for that, which only routing knows from the number plan).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

DAY_MINUTES = 24 * 60


def next_opening(
    now: dt.datetime, begin: int, end: int, weekdays: Collection[int], zone: dt.tzinfo
) -> dt.datetime:
    """The earliest instant at or after ``now`` (aware) inside the window [begin, end),
    minutes after local midnight in ``zone``; ``end <= begin`` runs past midnight into the
    next day. ``weekdays``: the ISO days (1 Monday … 7 Sunday) on which a window opens;
    empty: every day."""
    today = now.astimezone(zone).date()
    length = (end - begin) % DAY_MINUTES or DAY_MINUTES
    # Yesterday's window may still be open after midnight; with weekdays, the next allowed
    # day is at most a week away.
    for offset in range(-1, 8):
        day = today + dt.timedelta(days=offset)
        if weekdays and day.isoweekday() not in weekdays:
            continue
        start = dt.datetime.combine(day, dt.time(), zone) + dt.timedelta(minutes=begin)
        if start + dt.timedelta(minutes=length) > now:
            return max(start, now)  # windows never overlap: the first open one is it
    raise ValueError(f"no window opens within a week: weekdays {sorted(weekdays)!r}")
