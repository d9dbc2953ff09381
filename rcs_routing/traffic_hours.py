"""Allowed local hours per traffic type (SPEC F11), pure: no I/O.

Advertising may only reach a subscriber during the day in the subscriber's own time zone;
outside the window the policy holds the message until the window opens, or refuses it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

ADVERTISING = (0, 7)
TRAFFIC_TYPES = (0, 1, 2, 5, 6, 7)
DEFAULT_TRAFFIC_TYPE = 2  # service: what a message is when nothing says otherwise


@dataclass(frozen=True, slots=True)
class HoursPolicy:
    allowed_from: dt.time
    allowed_to: dt.time
    refuse: bool = False  # False: hold until the window opens

    def _inside(self, t: dt.time) -> bool:
        if self.allowed_from < self.allowed_to:
            return self.allowed_from <= t < self.allowed_to
        return t >= self.allowed_from or t < self.allowed_to  # the window spans midnight

    def next_allowed(self, now: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
        """None when ``now`` (aware) is inside the window, else when it next opens (UTC)."""
        local = now.astimezone(zone)
        if self._inside(local.time()):
            return None
        opens = dt.datetime.combine(local.date(), self.allowed_from, tzinfo=zone)
        if opens <= local:
            opens = dt.datetime.combine(
                local.date() + dt.timedelta(days=1), self.allowed_from, tzinfo=zone
            )
        return opens.astimezone(dt.UTC)

    def describe(self) -> str:
        verb = "refused" if self.refuse else "held"
        return (
            f"allowed {self.allowed_from:%H:%M}-{self.allowed_to:%H:%M} local time, {verb} outside"
        )
