from __future__ import annotations

import pytest

from rcs.common.v1 import status_pb2 as st
from rcs_connectors.classify import SubmitVerdict, backs_off_bind, classify_submit, receipt_status


@pytest.mark.parametrize(
    ("status", "verdict", "code"),
    [
        (0x00, SubmitVerdict.ACCEPTED, 0),
        (0x58, SubmitVerdict.RETRY, 0),
        (0x14, SubmitVerdict.RETRY, 0),
        (0x08, SubmitVerdict.RETRY, 0),
        (0x0A, SubmitVerdict.REJECTED, 13),
        (0x0B, SubmitVerdict.REJECTED, 8),
        (0x61, SubmitVerdict.REJECTED, 4),
    ],
)
def test_submit_status_is_classified(status: int, verdict: SubmitVerdict, code: int) -> None:
    assert classify_submit(status) == (verdict, code)


def test_throttling_and_queue_full_pause_the_bind() -> None:
    assert backs_off_bind(0x58)
    assert backs_off_bind(0x14)
    assert not backs_off_bind(0x08)


@pytest.mark.parametrize(
    ("stat", "state", "err", "expected"),
    [
        ("DELIVRD", None, "000", (st.MESSAGE_STATUS_DELIVERED, 0)),
        ("UNDELIV", None, "008", (st.MESSAGE_STATUS_UNDELIVERED, 8)),
        ("undeliv", None, "", (st.MESSAGE_STATUS_UNDELIVERED, 1)),
        ("UNDELIV", None, "4711", (st.MESSAGE_STATUS_UNDELIVERED, 1)),
        ("EXPIRED", None, None, (st.MESSAGE_STATUS_EXPIRED, 7)),
        ("REJECTD", None, "013", (st.MESSAGE_STATUS_REJECTED, 13)),
        ("ENROUTE", None, None, (0, 0)),
        ("ACCEPTD", None, None, (0, 0)),
        ("UNDELIV", 2, "005", (st.MESSAGE_STATUS_DELIVERED, 0)),  # the TLV wins
    ],
)
def test_receipt_maps_to_status_and_extended_code(
    stat: str, state: int | None, err: str | None, expected: tuple[int, int]
) -> None:
    assert receipt_status(stat, state, err) == expected
