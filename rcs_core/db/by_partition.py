"""Statements that find a batch of messages by (id, created_at) in their day partitions.

Each such statement also says which days the batch spans (``created_at BETWEEN lo AND
hi``) and runs unprepared, so PostgreSQL plans it with the values at hand and keeps only
those days' partitions. A prepared (generic) plan costs every probe as if it went to all
30+ partitions of retention, and then prefers a hash join over every open message of
every partition: a batch of 25 cost 10-20 ms once the messages awaiting receipts grew,
which made them grow faster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def created_bounds(created: Iterable[dt.datetime]) -> tuple[dt.datetime, dt.datetime]:
    """(first, last) created_at of a non-empty batch."""
    values = list(created)
    return min(values), max(values)
