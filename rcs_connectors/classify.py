"""What an operator's answers mean for a message (pure).

submit_sm_resp command_status → retry later or reject for good; receipt stat / err →
our status and Rapporto's extended error code.
"""

from __future__ import annotations

from enum import Enum

from rcs.common.v1 import status_pb2
from rcs_smpp.constants import CommandStatus

_S = CommandStatus


class SubmitVerdict(Enum):
    ACCEPTED = "accepted"
    RETRY = "retry"
    REJECTED = "rejected"


# Statuses that say "not now" rather than "never": throttling, full queues, system trouble.
_TEMPORARY = frozenset(
    {
        int(_S.ESME_RTHROTTLED),
        int(_S.ESME_RMSGQFUL),
        int(_S.ESME_RSYSERR),
        int(_S.ESME_RX_T_APPN),
        0x00000045,  # ESME_RSUBMITFAIL: most SMSCs use it for transient trouble
    }
)
# Permanent refusals with a meaningful extended code (rest_status.rst, SMS tab).
_REJECT_CODES = {
    int(_S.ESME_RINVSRCADR): 13,  # oper-invsrcaddr
    int(_S.ESME_RINVDSTADR): 8,  # unknown-subscriber
}


def classify_submit(command_status: int) -> tuple[SubmitVerdict, int]:
    """(verdict, extended error code) for a submit_sm_resp status."""
    if command_status == 0:
        return SubmitVerdict.ACCEPTED, 0
    if command_status in _TEMPORARY:
        return SubmitVerdict.RETRY, 0
    return SubmitVerdict.REJECTED, _REJECT_CODES.get(command_status, 4)


def backs_off_bind(command_status: int) -> bool:
    """Throttled or queue full: the whole bind should pause before the next submit."""
    return command_status in (int(_S.ESME_RTHROTTLED), int(_S.ESME_RMSGQFUL))


_STAT_TO_STATUS: dict[str, int] = {
    "DELIVRD": status_pb2.MESSAGE_STATUS_DELIVERED,
    "UNDELIV": status_pb2.MESSAGE_STATUS_UNDELIVERED,
    "EXPIRED": status_pb2.MESSAGE_STATUS_EXPIRED,
    "REJECTD": status_pb2.MESSAGE_STATUS_REJECTED,
    "DELETED": status_pb2.MESSAGE_STATUS_UNDELIVERED,
    "UNKNOWN": status_pb2.MESSAGE_STATUS_UNDELIVERED,
}
# message_state TLV values (SMPP 3.4 5.3.2.35) → stat words.
_STATE_TO_STAT = {
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    7: "UNKNOWN",
    8: "REJECTD",
}
_DEFAULT_ERROR: dict[int, int] = {
    status_pb2.MESSAGE_STATUS_UNDELIVERED: 1,
    status_pb2.MESSAGE_STATUS_EXPIRED: 7,
    status_pb2.MESSAGE_STATUS_REJECTED: 10,
}


def receipt_status(stat: str | None, message_state: int | None, err: str | None) -> tuple[int, int]:
    """(MessageStatus value, extended error code) of a receipt; status 0 = not final (ignore).

    ``err`` is taken as the extended code when it is one of Rapporto's (1–99); anything else
    (operator-specific numbers) becomes 1 "unknown" so partners never see foreign codes.
    """
    word = _STATE_TO_STAT.get(message_state) if message_state is not None else None
    word = word or (stat or "").strip().upper()[:7]
    status = _STAT_TO_STATUS.get(word, 0)
    if status in (0, status_pb2.MESSAGE_STATUS_DELIVERED):
        return status, 0
    code = 0
    if err:
        digits = err.strip().lstrip("0")
        if digits.isdigit() and 1 <= int(digits) <= 99:
            code = int(digits)
    return status, code or _DEFAULT_ERROR.get(status, 1)
