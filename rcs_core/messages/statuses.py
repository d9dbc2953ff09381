"""Message statuses (values of rcs.common.v1.MessageStatus) and their Rapporto faces."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    ACCEPTED = 1
    SENT = 2
    DELIVERED = 3
    UNDELIVERED = 4
    EXPIRED = 5
    REJECTED = 6
    READ = 7

    @property
    def is_final(self) -> bool:
        return self not in (Status.ACCEPTED, Status.SENT)

    @property
    def rapporto_code(self) -> int:
        """Rapporto's numeric status: 0 sent/in progress, 2 delivered, 5 not delivered, 9 read."""
        return _RAPPORTO[self]


_RAPPORTO = {
    Status.ACCEPTED: 0,
    Status.SENT: 0,
    Status.DELIVERED: 2,
    Status.UNDELIVERED: 5,
    Status.EXPIRED: 5,
    Status.REJECTED: 5,
    Status.READ: 9,
}

FINAL_STATUSES = tuple(int(s) for s in Status if s.is_final)


class ExtendedError(IntEnum):
    """Rapporto's extended error codes for SMS (rest_status.rst), carried as errorCode."""

    NONE = 0
    UNKNOWN = 1
    ABSENT_SUBSCRIBER = 2
    CALL_BARRED = 3
    FAILURE = 4
    MEMORY_CAPACITY_EXCEEDED = 5
    TELESERVICE_NOT_PROVISIONED = 6
    TIMEOUT = 7
    UNKNOWN_SUBSCRIBER = 8
    DUPLICATED = 9
    FILTERED = 10
    UNROUTED = 11
    OPER_BLACKLISTED = 12
    OPER_INVSRCADDR = 13
    OPER_SPAMFILTERED = 14
