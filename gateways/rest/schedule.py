"""Scheduled sending for the partner APIs, the pure part: REST v6 and REST_BATCH
``scheduleInfo`` (+ ``useTimeDiff``) and HTTP v5 ``sending_time`` (+ ``time_zone``) become
the earliest time a message may go (core's ``MessageSubmission.send_after``), the window
it may go in (``send_window``, checked again by routing whenever the message is about to
go, so one held past the window's end waits for the next opening) and, for a
``deadline``, a shorter validity. A window in the subscriber's own zone (``useTimeDiff:
true``, v5 ``sending_time`` without ``time_zone``) has no earliest time here: the zone
comes from the number plan, which routing applies when the message is dispatched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from rcs.common.v1 import message_pb2
from rcs_runtime.send_window import DAY_MINUTES, next_opening

# rest_sms.rst: useTimeDiff false means "расписанию инициатора рассылки UTC+3".
MOSCOW = dt.timezone(dt.timedelta(hours=3), "UTC+03:00")
_CLOCK = re.compile(r"([01]?[0-9]|2[0-4]):([0-5][0-9])")
_WEEKDAYS = re.compile(r"[1-7]*")
DEADLINE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # "2024-05-10T16:29:30+0300" (rest_batch_sms.rst)


class ScheduleError(ValueError):
    """A schedule that cannot be followed. ``field``: the scheduleInfo member at fault
    ("" for scheduleInfo itself), "useTimeDiff", or "validity" when the message's validity
    ends before the schedule lets it go."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Window:
    """Daily sending hours: [begin, end) in minutes after local midnight; ``end <= begin``
    runs past midnight into the next day. ``zone``: a fixed UTC offset, or None for the
    subscriber's own zone. ``weekdays`` are the ISO days (1 Monday … 7 Sunday) on which a
    window opens; empty: every day."""

    begin: int  # 0 … 1439
    end: int  # 1 … 1440
    zone: dt.timezone | None
    weekdays: frozenset[int] = frozenset()

    @classmethod
    def of(
        cls,
        begin: int,
        end: int,
        zone: dt.timezone | None,
        weekdays: frozenset[int] = frozenset(),
    ) -> Window:
        """From clock minutes 0 … 1440 as partners write them: a begin of 24:00 is
        midnight, an end of 00:00 the end of the day. Equal times other than midnight are
        refused, since "10:00 to 10:00" could mean nothing or the whole day."""
        begin %= DAY_MINUTES
        end = end or DAY_MINUTES
        if begin == end:
            raise ScheduleError("", "the sending window begins and ends at the same time")
        return cls(begin, end, zone, weekdays)

    def opening(self, now: dt.datetime) -> dt.datetime:
        """The earliest instant at or after ``now`` inside a window; ``now`` itself for a
        window in the subscriber's zone, which routing applies at dispatch."""
        if self.zone is None:
            return now
        return next_opening(now, self.begin, self.end, self.weekdays, self.zone)

    def to_proto(self) -> message_pb2.SendWindow:
        offset = self.zone.utcoffset(None) if self.zone is not None else None
        return message_pb2.SendWindow(
            begin_minute=self.begin,
            end_minute=self.end,
            weekdays=sorted(self.weekdays),
            subscriber_zone=self.zone is None,
            utc_offset_minutes=int(offset.total_seconds()) // 60 if offset is not None else 0,
        )


@dataclass(frozen=True, slots=True)
class Plan:
    send_after: dt.datetime | None  # None: at once
    ttl: dt.timedelta


@dataclass(frozen=True, slots=True)
class Schedule:
    """When messages may go: within ``window`` (None: any time), before ``deadline``."""

    window: Window | None = None
    deadline: dt.datetime | None = None

    def start(self, now: dt.datetime) -> dt.datetime:
        """The earliest time at or after ``now`` a message may go, or ScheduleError when
        the deadline has passed or comes before any window opens."""
        start = self.window.opening(now) if self.window is not None else now
        if self.deadline is not None:
            if self.deadline - now < dt.timedelta(seconds=1):
                raise ScheduleError("deadline", "the deadline has passed")
            if start >= self.deadline:
                raise ScheduleError(
                    "deadline",
                    f"no sending window opens before the deadline (the next opens at"
                    f" {_iso(start)})",
                )
        return start

    def plan(self, now: dt.datetime, ttl: dt.timedelta) -> Plan:
        """``send_after`` and the validity for a message accepted at ``now`` with validity
        ``ttl``. A deadline ends the validity ("not sent before the deadline → EXPIRED",
        rest_batch_sms.rst), since core's validity counts from acceptance."""
        start = self.start(now)
        if self.deadline is not None:
            ttl = min(ttl, dt.timedelta(seconds=int((self.deadline - now).total_seconds())))
        if start >= now + ttl:
            raise ScheduleError(
                "validity",
                f"the message may first go at {_iso(start)}, after its validity ends at"
                f" {_iso(now + ttl)}: give a longer validity or a window that opens sooner",
            )
        return Plan(start if start > now else None, ttl)


def window_of(schedule: Schedule | None) -> message_pb2.SendWindow | None:
    """The sending window for core (None: any time)."""
    if schedule is None or schedule.window is None:
        return None
    return schedule.window.to_proto()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(MOSCOW).strftime("%Y-%m-%dT%H:%M:%S%z")


def clock_minutes(value: Any, field: str) -> int:
    """Minutes after midnight of an "HH:MM" time, 00:00 to 24:00."""
    match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if match is None or (match[1] == "24" and match[2] != "00"):
        raise ScheduleError(field, f'{field} must be a time "HH:MM" from 00:00 to 24:00')
    return int(match[1]) * 60 + int(match[2])


def parse_deadline(value: Any) -> dt.datetime:
    if isinstance(value, str):
        try:
            deadline = dt.datetime.strptime(value.strip(), DEADLINE_FORMAT)
            deadline.astimezone(dt.UTC)  # out of range once in UTC (year 1 or 9999)
        except (ValueError, OverflowError):
            pass
        else:
            return deadline
    raise ScheduleError(
        "deadline",
        'deadline must be a date and time with its UTC offset, "2024-05-10T16:29:30+0300"',
    )


def parse_schedule_info(info: Any, use_time_diff: Any) -> Schedule | None:
    """REST v6's and REST_BATCH's ``scheduleInfo`` object and ``useTimeDiff`` flag (null:
    not given). timeBegin defaults to 00:00 and timeEnd to 24:00; an empty or missing
    weekdaysSchedule means every day. Times are Moscow's (UTC+3) unless useTimeDiff."""
    if use_time_diff is not None and not isinstance(use_time_diff, bool):
        raise ScheduleError("useTimeDiff", "useTimeDiff must be true or false")
    if info is None:
        return None
    if not isinstance(info, dict):
        raise ScheduleError("", "scheduleInfo must be a JSON object")
    begin, end, days = info.get("timeBegin"), info.get("timeEnd"), info.get("weekdaysSchedule")
    if days is not None and (not isinstance(days, str) or not _WEEKDAYS.fullmatch(days)):
        raise ScheduleError(
            "weekdaysSchedule", 'weekdaysSchedule: digits 1 (Monday) to 7 (Sunday), e.g. "12345"'
        )
    window: Window | None = None
    if begin is not None or end is not None or days:
        window = Window.of(
            0 if begin is None else clock_minutes(begin, "timeBegin"),
            DAY_MINUTES if end is None else clock_minutes(end, "timeEnd"),
            MOSCOW,
            frozenset(int(d) for d in days or ""),
        )
        if window == Window(0, DAY_MINUTES, MOSCOW):
            window = None  # 00:00 to 24:00 every day: no limit, in any zone
    if window is not None and use_time_diff:
        window = dataclasses.replace(window, zone=None)  # the subscriber's own zone
    deadline = None if info.get("deadline") is None else parse_deadline(info["deadline"])
    if window is None and deadline is None:
        return None
    return Schedule(window, deadline)
