"""SMPP 3.4 times (section 7.1.1): "YYMMDDhhmmsstnnp", absolute or relative."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

_TIME: Final = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d)(\d{2})([-+R])")


def parse_smpp_time(value: str, now: dt.datetime) -> dt.datetime:
    """An SMPP time "YYMMDDhhmmsstnnp" as an aware datetime: absolute ("+"/"-": nn quarter
    hours from UTC) or relative to ``now`` ("R": years of 365 and months of 30 days)."""
    m = _TIME.fullmatch(value)
    if m is None:
        raise ValueError(f"{value!r} is not an SMPP time")
    yy, mo, dd, hh, mi, ss, tenth, nn = (int(g) for g in m.groups()[:8])
    if m.group(9) == "R":
        return now + dt.timedelta(days=yy * 365 + mo * 30 + dd, hours=hh, minutes=mi, seconds=ss)
    offset = dt.timedelta(minutes=15 * nn) * (1 if m.group(9) == "+" else -1)
    return dt.datetime(2000 + yy, mo, dd, hh, mi, ss, tenth * 100_000, tzinfo=dt.timezone(offset))
