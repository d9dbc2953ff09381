"""The cascade engine's decision (rcs_core.delivery.cascade), pure."""

from __future__ import annotations

import datetime as dt

import pytest

from rcs_core.delivery.cascade import Action, Decision, decide
from rcs_core.messages.statuses import Status

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(seconds=30)
EARLIER = NOW - dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("status", "wait_for", "deadline", "expected"),
    [
        # Reached in time: the cascade ends with the link's status.
        (
            Status.DELIVERED,
            Status.DELIVERED,
            LATER,
            Decision(Action.FINISH, status=Status.DELIVERED),
        ),
        (Status.READ, Status.DELIVERED, LATER, Decision(Action.FINISH, status=Status.READ)),
        (Status.READ, Status.READ, LATER, Decision(Action.FINISH, status=Status.READ)),
        # Waiting: look again at the deadline.
        (Status.SENT, Status.DELIVERED, LATER, Decision(Action.WAIT, due=LATER)),
        (Status.ACCEPTED, Status.DELIVERED, LATER, Decision(Action.WAIT, due=LATER)),
        (Status.DELIVERED, Status.READ, LATER, Decision(Action.WAIT, due=LATER)),
        # Failed for good: next link at once, nothing to expire.
        (Status.UNDELIVERED, Status.DELIVERED, LATER, Decision(Action.ADVANCE)),
        (Status.REJECTED, Status.READ, LATER, Decision(Action.ADVANCE)),
        (Status.EXPIRED, Status.DELIVERED, LATER, Decision(Action.ADVANCE)),
        # Deadline passed: an open link is expired first; a DELIVERED one stays so.
        (Status.SENT, Status.DELIVERED, EARLIER, Decision(Action.ADVANCE, expire_current=True)),
        (Status.ACCEPTED, Status.READ, NOW, Decision(Action.ADVANCE, expire_current=True)),
        (Status.DELIVERED, Status.READ, EARLIER, Decision(Action.ADVANCE)),
        # Reached exactly at the deadline still counts.
        (
            Status.DELIVERED,
            Status.DELIVERED,
            EARLIER,
            Decision(Action.FINISH, status=Status.DELIVERED),
        ),
    ],
)
def test_link_with_a_next_link(
    status: Status, wait_for: Status, deadline: dt.datetime, expected: Decision
) -> None:
    assert decide(status, 0, wait_for, deadline, NOW) == expected


def test_last_link_waits_for_its_final_status_without_a_timer() -> None:
    assert decide(Status.SENT, 0, None, EARLIER, NOW) == Decision(Action.WAIT)
    assert decide(Status.UNDELIVERED, 8, None, LATER, NOW) == Decision(
        Action.FINISH, status=Status.UNDELIVERED, error=8
    )
    assert decide(Status.DELIVERED, 0, None, LATER, NOW).status is Status.DELIVERED
