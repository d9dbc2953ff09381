"""Scheduled sending (gateways.rest.schedule): windows, weekdays, deadlines and validity, on
a fixed clock. 2026-11-26 is a Thursday; 06:00 UTC is 09:00 in Moscow."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateways.rest.schedule import (
    MOSCOW,
    Schedule,
    ScheduleError,
    Window,
    parse_deadline,
    parse_schedule_info,
)

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)  # Thursday 09:00 Moscow
DAY = dt.timedelta(days=1)


def msk(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=MOSCOW)


def window(begin: str, end: str, days: str = "") -> Window:
    schedule = parse_schedule_info(
        {"timeBegin": begin, "timeEnd": end, "weekdaysSchedule": days}, None
    )
    assert schedule is not None
    assert schedule.window is not None
    return schedule.window


@pytest.mark.parametrize(
    ("begin", "end", "days", "opening"),
    [
        ("10:00", "21:00", "", msk(26, 10)),  # later today
        ("08:00", "21:00", "", NOW),  # open now
        ("09:00", "10:00", "", NOW),  # the beginning is inside
        ("07:00", "09:00", "", msk(27, 7)),  # the end is outside: tomorrow
        ("22:00", "06:00", "", msk(26, 22)),  # past midnight, tonight
        ("22:00", "09:30", "", NOW),  # yesterday's night window still open
        ("10:00", "21:00", "5", msk(27, 10)),  # Friday only
        ("10:00", "21:00", "4", msk(26, 10)),  # Thursday: today
        ("08:00", "21:00", "123", msk(30, 8)),  # Monday next week
        ("22:00", "10:00", "3", NOW),  # Wednesday's night window runs into Thursday
        ("22:00", "08:00", "3", msk(2, 22).replace(month=12)),  # next Wednesday night
        ("10:00", "00:00", "", msk(26, 10)),  # 00:00 as the end is the end of the day
        ("00:00", "24:00", "67", msk(28, 0)),  # whole days, the weekend
    ],
)
def test_the_earliest_send_time_is_the_next_opening(
    begin: str, end: str, days: str, opening: dt.datetime
) -> None:
    assert window(begin, end, days).opening(NOW) == opening


def test_a_window_in_another_zone() -> None:
    vladivostok = dt.timezone(dt.timedelta(hours=10))
    w = Window.of(10 * 60, 20 * 60, vladivostok)  # 06:00 UTC is 16:00 there: open
    assert w.opening(NOW) == NOW
    w = Window.of(18 * 60, 20 * 60, vladivostok)
    assert w.opening(NOW) == dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)


def test_plan_sends_at_once_inside_the_window_and_later_outside() -> None:
    inside = Schedule(window("08:00", "21:00"))
    assert inside.plan(NOW, DAY).send_after is None
    outside = Schedule(window("10:00", "21:00"))
    assert outside.plan(NOW, DAY).send_after == msk(26, 10)
    assert outside.plan(NOW, DAY).ttl == DAY


def test_a_window_opening_after_the_validity_is_refused() -> None:
    late = Schedule(window("10:00", "21:00"))
    with pytest.raises(ScheduleError) as caught:
        late.plan(NOW, dt.timedelta(minutes=60))  # 10:00 is exactly when it expires
    assert caught.value.field == "validity"
    assert "2026-11-26T10:00:00+0300" in caught.value.message
    assert late.plan(NOW, dt.timedelta(minutes=61)).send_after == msk(26, 10)


def test_a_deadline_ends_the_validity_sooner() -> None:
    deadline = msk(26, 12, 30)
    plan = Schedule(deadline=deadline).plan(NOW, DAY)
    assert plan == type(plan)(None, dt.timedelta(hours=3, minutes=30))
    # A later deadline leaves the validity as it is.
    assert Schedule(deadline=msk(28, 9)).plan(NOW, DAY).ttl == DAY
    # With a window: sent at its opening, expires at the deadline.
    both = Schedule(window("10:00", "21:00"), deadline).plan(NOW, DAY)
    assert (both.send_after, NOW + both.ttl) == (msk(26, 10), deadline)


@pytest.mark.parametrize(
    "schedule",
    [
        Schedule(deadline=msk(26, 9)),  # now
        Schedule(deadline=msk(25, 9)),
        Schedule(window("10:00", "21:00"), msk(26, 10)),  # opens only at the deadline
    ],
)
def test_a_deadline_that_leaves_no_time_is_refused(schedule: Schedule) -> None:
    with pytest.raises(ScheduleError) as caught:
        schedule.start(NOW)
    assert caught.value.field == "deadline"


@pytest.mark.parametrize(
    ("raw", "moment"),
    [
        ("2024-05-10T16:29:30+0300", dt.datetime(2024, 5, 10, 13, 29, 30, tzinfo=dt.UTC)),
        ("2024-05-10T16:29:30+03:00", dt.datetime(2024, 5, 10, 13, 29, 30, tzinfo=dt.UTC)),
        ("2024-05-10T13:29:30Z", dt.datetime(2024, 5, 10, 13, 29, 30, tzinfo=dt.UTC)),
    ],
)
def test_deadline_formats(raw: str, moment: dt.datetime) -> None:
    assert parse_deadline(raw) == moment


@pytest.mark.parametrize(
    "raw", ["2024-05-10T16:29:30", "2024-05-10 16:29", "tomorrow", "", 1715347770, None]
)
def test_a_deadline_needs_date_time_and_offset(raw: Any) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_deadline(raw)
    assert caught.value.field == "deadline"


@pytest.mark.parametrize(
    ("info", "use_time_diff", "field"),
    [
        ([], None, ""),
        ("10:00", None, ""),
        ({"timeBegin": "25:00"}, None, "timeBegin"),
        ({"timeBegin": "10"}, None, "timeBegin"),
        ({"timeBegin": 10}, None, "timeBegin"),
        ({"timeEnd": "24:30"}, None, "timeEnd"),
        ({"timeEnd": "9:60"}, None, "timeEnd"),
        ({"timeBegin": "10:00", "timeEnd": "10:00"}, None, ""),
        ({"weekdaysSchedule": "0"}, None, "weekdaysSchedule"),
        ({"weekdaysSchedule": "1,2"}, None, "weekdaysSchedule"),
        ({"weekdaysSchedule": 12345}, None, "weekdaysSchedule"),
        ({"deadline": "2024-05-10"}, None, "deadline"),
        ({}, "true", "useTimeDiff"),
        (None, 1, "useTimeDiff"),
    ],
)
def test_malformed_schedule_names_its_field(info: Any, use_time_diff: Any, field: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule_info(info, use_time_diff)
    assert caught.value.field == field


def test_use_time_diff_puts_the_window_in_the_subscribers_zone() -> None:
    """The zone is the number's, which routing applies at dispatch: no earliest time here,
    and the window goes to core as the subscriber's."""
    schedule = parse_schedule_info({"timeBegin": "10:00", "weekdaysSchedule": "12345"}, True)
    assert schedule is not None
    assert schedule.window is not None
    assert schedule.window == Window(10 * 60, 24 * 60, None, frozenset(range(1, 6)))
    assert schedule.plan(NOW, DAY).send_after is None
    sent = schedule.window.to_proto()
    assert (sent.begin_minute, sent.end_minute, list(sent.weekdays)) == (600, 1440, [1, 2, 3, 4, 5])
    assert sent.subscriber_zone


def test_a_moscow_window_goes_to_core_with_its_offset() -> None:
    schedule = parse_schedule_info({"timeBegin": "22:00", "timeEnd": "06:00"}, False)
    assert schedule is not None
    assert schedule.window is not None
    sent = schedule.window.to_proto()
    assert (sent.begin_minute, sent.end_minute, sent.subscriber_zone) == (1320, 360, False)
    assert sent.utc_offset_minutes == 180


@pytest.mark.parametrize(
    ("info", "use_time_diff"),
    [
        (None, True),  # nothing to schedule
        ({}, False),
        ({"weekdaysSchedule": ""}, None),
        ({"timeBegin": "00:00", "timeEnd": "24:00"}, True),  # every hour of every day
        ({"timeBegin": None, "timeEnd": None, "deadline": None}, None),
    ],
)
def test_a_schedule_without_limits_is_none(info: Any, use_time_diff: Any) -> None:
    assert parse_schedule_info(info, use_time_diff) is None


def test_a_deadline_alone_is_absolute_whatever_use_time_diff_says() -> None:
    schedule = parse_schedule_info({"deadline": "2026-11-26T12:30:00+0300"}, True)
    assert schedule == Schedule(None, msk(26, 12, 30))


def test_missing_times_default_to_the_whole_day() -> None:
    only_begin = parse_schedule_info({"timeBegin": "10:00"}, None)
    assert only_begin is not None
    assert only_begin.window == Window(10 * 60, 24 * 60, MOSCOW)
    only_end = parse_schedule_info({"timeEnd": "18:00"}, False)
    assert only_end is not None
    assert only_end.window == Window(0, 18 * 60, MOSCOW)
