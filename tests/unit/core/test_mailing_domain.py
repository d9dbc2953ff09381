"""Mailings' pure rules (rcs_core/mailings/domain.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from rcs_core.mailings import domain
from rcs_core.mailings.domain import Action, State
from rcs_runtime.errors import RcsError

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)  # 15:00 in Moscow


def test_transitions() -> None:
    later = NOW + dt.timedelta(hours=1)
    assert domain.transition(State.LOADED, Action.START, None, NOW) is State.RUNNING
    assert domain.transition(State.LOADED, Action.START, later, NOW) is State.SCHEDULED
    assert domain.transition(State.RUNNING, Action.PAUSE, None, NOW) is State.PAUSED
    assert domain.transition(State.PAUSED, Action.RESUME, None, NOW) is State.RUNNING
    assert domain.transition(State.PAUSED, Action.CANCEL, None, NOW) is State.CANCELLED
    for state, action in [
        (State.RUNNING, Action.START),
        (State.LOADED, Action.RESUME),
        (State.FINISHED, Action.CANCEL),
        (State.CANCELLED, Action.PAUSE),
    ]:
        with pytest.raises(RcsError) as err:
            domain.transition(state, action, None, NOW)
        assert err.value.reason == "MAILING_STATE_CONFLICT"


def test_substitutions() -> None:
    assert domain.render("Hi {1}, {2}{1}", ["A", "B"]) == "Hi A, BA"
    with pytest.raises(RcsError, match=r"\{3\}"):
        domain.render("{3}", ["a"])
    assert domain.recipient_text("own", "tmpl {1}", []) == "own"
    with pytest.raises(RcsError):
        domain.recipient_text("", "", [])
    with pytest.raises(RcsError):
        domain.recipient_text("x" * 2001, "", [])


def test_moscow_window() -> None:
    assert domain.window_open((9 * 60, 21 * 60), False, NOW)
    assert not domain.window_open((16 * 60, 21 * 60), False, NOW)
    assert domain.window_open((22 * 60, 16 * 60), False, NOW)  # past midnight
    assert domain.window_open((16 * 60, 21 * 60), True, NOW)  # routing holds per subscriber


def test_rate_is_a_leaky_bucket_with_a_second_of_burst() -> None:
    budget, start = domain.feed_budget(NOW - dt.timedelta(minutes=5), 100, NOW)
    assert (budget, start) == (100, NOW - dt.timedelta(seconds=1))
    after = domain.credit_after(start, 100, 100)
    assert domain.feed_budget(after, 100, NOW) == (0, NOW)
    assert domain.feed_budget(NOW - dt.timedelta(milliseconds=250), 100, NOW)[0] == 25


def test_a_sender_the_partner_does_not_own_is_refused() -> None:
    spec = {
        "name": "n",
        "source_key": "",
        "sender": "OTHERBRAND",
        "default_sender": "ACME",
        "text": "",
        "auto_start": False,
        "start_at": None,
        "end_at": None,
        "window_begin": 0,
        "window_end": 0,
        "window_subscriber_zone": False,
        "priority": 0,
        "rate_per_second": 0,
        "default_rate": 100,
    }
    with pytest.raises(RcsError) as err:
        domain.check_spec(**spec, owned_senders=frozenset({"ACME"}))  # type: ignore[arg-type]
    assert err.value.reason == "INVALID_SENDER"
    spec["sender"] = ""
    checked = domain.check_spec(**spec, owned_senders=frozenset({"ACME"}))  # type: ignore[arg-type]
    assert (checked.sender, checked.rate_per_second) == ("ACME", 100)
