"""Datetimes as protobuf Timestamps, the one way every service writes them."""

from __future__ import annotations

import datetime as dt
from typing import overload

from google.protobuf import timestamp_pb2


@overload
def timestamp(moment: dt.datetime) -> timestamp_pb2.Timestamp: ...
@overload
def timestamp(moment: None) -> None: ...
def timestamp(moment: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    """``moment`` for a protobuf field; None (the field left unset) for None. A naive
    datetime is taken as UTC."""
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
    return stamp
