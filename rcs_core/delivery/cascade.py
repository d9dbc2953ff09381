"""The cascade engine's decision: what a cascade does next, given its running link.

Pure (no I/O, no clock): rcs_core.delivery.cascade_engine reads the state, asks here, and
writes the answer in the same transaction (rcs_core.delivery.cascade_store).

A cascade is a chain of messages to one subscriber. The running link's message either
reaches the status the next link waits for (``wait_for``: DELIVERED, which READ also
satisfies, or READ) before its deadline (its validity's end) — the cascade ends there with
that status — or it fails for good or its deadline passes, and the next link starts. The
last link has nothing to wait for: its final status is the cascade's. A status that comes
after the cascade moved on (a late receipt) changes that link's own record and report,
never the cascade: the decision is taken once, under the cascade row's lock, and the row
then points at the next link.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from rcs_core.messages.statuses import Status

FAILED = frozenset({Status.UNDELIVERED, Status.EXPIRED, Status.REJECTED})


class Action(enum.Enum):
    WAIT = "wait"  # look again at ``due`` (None: only when the link's status changes)
    FINISH = "finish"  # the cascade's one final outcome is ``status`` / ``error``
    ADVANCE = "advance"  # start the next link (expiring this one first if still open)


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    due: dt.datetime | None = None
    status: Status | None = None
    error: int = 0
    expire_current: bool = False


def reached(status: Status, wait_for: Status) -> bool:
    """Whether a link in ``status`` satisfies the next link's state: READ satisfies both."""
    return status == Status.READ or status == wait_for


def decide(
    status: Status, error: int, wait_for: Status | None, deadline: dt.datetime, now: dt.datetime
) -> Decision:
    """What to do with a cascade whose running link is in ``status`` (``error``)."""
    if wait_for is None:  # the last link: its final status is the cascade's
        if status.is_final:
            return Decision(Action.FINISH, status=status, error=error)
        return Decision(Action.WAIT)
    if reached(status, wait_for):
        return Decision(Action.FINISH, status=status, error=error)
    if status in FAILED:
        return Decision(Action.ADVANCE)
    if now >= deadline:
        # Still ACCEPTED or SENT: expire it, so that its own late receipt is not taken.
        # DELIVERED while READ was wanted: it stays DELIVERED, which is true.
        return Decision(Action.ADVANCE, expire_current=not status.is_final)
    return Decision(Action.WAIT, due=deadline)
