"""Mailings, pure: states and their transitions, the spec's rules, texts with
substitutions, the sending window and the feeding rate. No I/O here."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import IntEnum

from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.send_window import DAY_MINUTES

MOSCOW = dt.timezone(dt.timedelta(hours=3))
MAX_NAME_CHARS = 200
MAX_TEXT_CHARS = 2000  # as every message (validation.MAX_TEXT_CHARS)
MAX_SENDER_CHARS = 21
# The most a feeder may owe at once: a second's worth of the rate, so a mailing paused by
# a long outage does not rush out a backlog when it comes back.
BURST = dt.timedelta(seconds=1)
_PLACEHOLDER = re.compile(r"\{([1-9][0-9]?)\}")


class State(IntEnum):
    """Values of rcs.core.v1.MailingState."""

    LOADED = 1
    SCHEDULED = 2
    RUNNING = 3
    PAUSED = 4
    FINISHED = 5
    CANCELLED = 6

    @property
    def is_final(self) -> bool:
        return self in (State.FINISHED, State.CANCELLED)


class Action(IntEnum):
    START = 1
    PAUSE = 2
    RESUME = 3
    CANCEL = 4


_ALLOWED: dict[Action, tuple[State, ...]] = {
    Action.START: (State.LOADED,),
    Action.PAUSE: (State.RUNNING, State.SCHEDULED),
    Action.RESUME: (State.PAUSED,),
    Action.CANCEL: (State.LOADED, State.SCHEDULED, State.RUNNING, State.PAUSED),
}


def started_state(start_at: dt.datetime | None, now: dt.datetime) -> State:
    """RUNNING, or SCHEDULED while the start time is ahead."""
    return State.SCHEDULED if start_at is not None and start_at > now else State.RUNNING


def transition(
    state: State, action: Action, start_at: dt.datetime | None, now: dt.datetime
) -> State:
    """The state after ``action``, or MAILING_STATE_CONFLICT saying what is possible."""
    if state not in _ALLOWED[action]:
        allowed = ", ".join(s.name for s in _ALLOWED[action])
        raise RcsError(
            Reason.MAILING_STATE_CONFLICT,
            f"cannot {action.name.lower()} a {state.name} mailing (only {allowed})",
        )
    if action is Action.PAUSE:
        return State.PAUSED
    if action is Action.CANCEL:
        return State.CANCELLED
    return started_state(start_at, now)


@dataclass(frozen=True, slots=True)
class Spec:
    """A mailing as its creator asked for it, checked."""

    name: str
    source_key: str | None
    sender: str
    text: str
    auto_start: bool
    start_at: dt.datetime | None
    end_at: dt.datetime | None
    window: tuple[int, int] | None
    window_subscriber_zone: bool
    priority: int
    rate_per_second: int


def check_spec(
    *,
    name: str,
    source_key: str,
    sender: str,
    default_sender: str,
    text: str,
    auto_start: bool,
    start_at: dt.datetime | None,
    end_at: dt.datetime | None,
    window_begin: int,
    window_end: int,
    window_subscriber_zone: bool,
    priority: int,
    rate_per_second: int,
    default_rate: int,
    owned_senders: frozenset[str] | None = None,
) -> Spec:
    """The checked spec, or INVALID_REQUEST naming the field and what to change.
    ``owned_senders``: the partner's senders; any other is refused, as on every API."""
    name = name.strip()
    if not 0 < len(name) <= MAX_NAME_CHARS:
        raise RcsError(
            Reason.INVALID_REQUEST, f"name: 1 to {MAX_NAME_CHARS} characters", field="name"
        )
    sender = sender or default_sender
    if not sender or len(sender) > MAX_SENDER_CHARS:
        raise RcsError(
            Reason.INVALID_SENDER,
            f"sender (service_number) is required (no default is set for this login) and at"
            f" most {MAX_SENDER_CHARS} characters",
            field="sender",
        )
    if owned_senders is not None and sender not in owned_senders:
        raise RcsError(
            Reason.INVALID_SENDER,
            f"sender {sender!r} is not one of this login's senders (the administrator"
            " assigns them to the login)",
            field="sender",
        )
    if len(text) > MAX_TEXT_CHARS:
        raise RcsError(
            Reason.INVALID_TEXT, f"text is longer than {MAX_TEXT_CHARS} characters", field="text"
        )
    window: tuple[int, int] | None = None
    if window_begin or window_end:
        if not (0 <= window_begin < DAY_MINUTES and 0 < window_end <= DAY_MINUTES):
            raise RcsError(
                Reason.INVALID_REQUEST,
                "sending window: begin 0-1439 and end 1-1440 minutes after midnight",
                field="window_begin_minute",
            )
        if window_begin == window_end:
            raise RcsError(
                Reason.INVALID_REQUEST,
                "the sending window begins and ends at the same time",
                field="window_begin_minute",
            )
        window = (window_begin, window_end)
    if end_at is not None and start_at is not None and end_at <= start_at:
        raise RcsError(
            Reason.INVALID_REQUEST, "end_time must be after start_time", field="end_time"
        )
    if not 0 <= priority <= 2:
        raise RcsError(Reason.INVALID_REQUEST, "priority must be 0, 1 or 2", field="priority")
    if rate_per_second < 0:
        raise RcsError(
            Reason.INVALID_REQUEST, "rate_per_second must be 0 (default) or more", field="rate"
        )
    return Spec(
        name=name,
        source_key=source_key or None,
        sender=sender,
        text=text,
        auto_start=auto_start,
        start_at=start_at,
        end_at=end_at,
        window=window,
        window_subscriber_zone=window_subscriber_zone,
        priority=priority,
        rate_per_second=rate_per_second or default_rate,
    )


def render(template: str, params: list[str]) -> str:
    """``template`` with {1}, {2}, ... replaced by ``params``; a placeholder without a
    value is INVALID_TEXT (a half-filled text must not go out)."""

    def value(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index > len(params):
            raise RcsError(
                Reason.INVALID_TEXT,
                f"the text names {{{index}}} but the line has {len(params)} value(s)",
                field="params",
            )
        return params[index - 1]

    return _PLACEHOLDER.sub(value, template)


def recipient_text(own: str, template: str, params: list[str]) -> str:
    """A recipient's text: its own, or the mailing's with its params; INVALID_TEXT if the
    result is empty or too long."""
    text = own or render(template, params)
    if not text:
        raise RcsError(
            Reason.INVALID_TEXT, "a line has no text and the mailing has none either", field="text"
        )
    if len(text) > MAX_TEXT_CHARS:
        raise RcsError(
            Reason.INVALID_TEXT, f"a text is longer than {MAX_TEXT_CHARS} characters", field="text"
        )
    if "\x00" in text:
        raise RcsError(Reason.INVALID_TEXT, "a text contains a NUL character", field="text")
    return text


def window_open(window: tuple[int, int] | None, subscriber_zone: bool, now: dt.datetime) -> bool:
    """Whether a fixed-zone (Moscow) window is open now. A subscriber-zone window is for
    routing to hold each message in (core does not know the number's zone)."""
    if window is None or subscriber_zone:
        return True
    local = now.astimezone(MOSCOW)
    minute = local.hour * 60 + local.minute
    begin, end = window
    if begin < end:
        return begin <= minute < end
    return minute >= begin or minute < end  # past midnight


def feed_budget(credit_at: dt.datetime, rate: int, now: dt.datetime) -> tuple[int, dt.datetime]:
    """How many messages may be fed now, and the bucket's time from which the fed ones are
    counted: the rate is a leaky bucket shared through the database."""
    start = max(credit_at, now - BURST)
    budget = int((now - start).total_seconds() * rate)
    return max(0, budget), start


def credit_after(start: dt.datetime, fed: int, rate: int) -> dt.datetime:
    return start + dt.timedelta(seconds=fed / rate)
