"""The receipts rpns sends core for a push's status."""

from __future__ import annotations

import datetime as dt

from rcs.common.v1 import status_pb2
from rcs_rpns.reporter import receipts_of
from rcs_rpns.storage import pushes

AT = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)


def _row(status: int, reported: int, code: int = 0) -> pushes.Unreported:
    return pushes.Unreported(42, "rpns", status, code, AT, reported)


def test_read_is_preceded_by_delivered_when_core_has_not_heard_of_the_delivery() -> None:
    sent = receipts_of(_row(pushes.READ, pushes.NONE))
    assert [(r.status, r.operator_message_id, r.interface_id) for r in sent] == [
        (status_pb2.MESSAGE_STATUS_DELIVERED, "42", "rpns"),
        (status_pb2.MESSAGE_STATUS_READ, "42", "rpns"),
    ]
    again = receipts_of(_row(pushes.READ, pushes.DELIVERED))
    assert [r.status for r in again] == [status_pb2.MESSAGE_STATUS_READ]


def test_undelivered_carries_its_code_and_the_time() -> None:
    (receipt,) = receipts_of(_row(pushes.UNDELIVERED, pushes.NONE, code=26))
    assert (receipt.status, receipt.error_code, receipt.operator_state) == (
        status_pb2.MESSAGE_STATUS_UNDELIVERED,
        26,
        "UNDELIV",
    )
    assert receipt.done_time.ToDatetime(dt.UTC) == AT
