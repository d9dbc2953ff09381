from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rcs.common.v1 import message_pb2
from rcs_core.messages import ids
from rcs_core.messages.model import NewMessage
from rcs_core.messages.numbers import normalize_msisdn
from rcs_core.messages.statuses import Status
from rcs_core.messages.validation import Submission, validate
from rcs_runtime.errors import RcsError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("79161234567", "79161234567"),
        ("+7 (916) 123-45-67", "79161234567"),
        ("8-916-123-45-67", "79161234567"),
        ("89161234567", "79161234567"),
        ("004915112345678", "4915112345678"),
        ("12", None),
        ("7916123456a", None),
        ("", None),
        ("0123456789", None),
        ("1" * 16, None),
    ],
)
def test_msisdn_is_normalised_to_international_digits(raw: str, expected: str | None) -> None:
    assert normalize_msisdn(raw) == expected


def test_ids_carry_the_installation_and_stay_positive_63_bit() -> None:
    mid = ids.compose(2**52, 1023)
    assert ids.installation_of(mid) == 1023
    assert 0 < mid <= ids.MAX_ID
    assert ids.parse(str(mid)) == mid
    with pytest.raises(ValueError, match="installation id"):
        ids.compose(1, 1024)


@pytest.mark.parametrize("text", ["0", "-5", "abc", "1" * 20, str(2**63), ""])
def test_invalid_id_strings_are_not_ids(text: str) -> None:
    assert ids.parse(text) is None


def test_statuses_map_to_rapporto_codes() -> None:
    assert [s.rapporto_code for s in Status] == [0, 0, 2, 5, 5, 5, 9]
    assert not Status.SENT.is_final
    assert Status.EXPIRED.is_final


def _sub(**kw: object) -> Submission:
    base: dict[str, object] = {
        "client_ref": "",
        "destination": "79161234567",
        "channel": 1,
        "text": "hi",
        "sender": "",
        "priority": 0,
        "ttl": dt.timedelta(0),
        "receipt_request": 0,
    }
    base.update(kw)
    return Submission(**base)  # type: ignore[arg-type]


def test_defaults_fill_sender_ttl_and_receipt_request() -> None:
    msg = validate(_sub(), default_sender="RCS", default_ttl=dt.timedelta(hours=1), trace_parent="")
    assert (msg.sender, msg.ttl, msg.receipt_request) == ("RCS", dt.timedelta(hours=1), 2)


def test_every_checked_field_lands_in_its_own_new_message_field() -> None:
    """validate builds NewMessage positionally (for speed): each value where it belongs."""
    send_after = dt.datetime(2030, 1, 2, tzinfo=dt.UTC)
    # The fields a Submission and a NewMessage share, each with a value of its own.
    same: dict[str, Any] = {
        "client_ref": "ref-1",
        "sender": "Snd",
        "priority": 2,
        "ttl": dt.timedelta(hours=5),
        "receipt_request": 1,
        "traffic_type": 6,
        "mailing": "ml",
        "ptag": "tag",
        "report_format": 3,
        "report_url": "https://example.org/r",
        "send_after": send_after,
        "flash": True,
        "refuse_ref_in_progress": True,
    }
    window = message_pb2.SendWindow(begin_minute=60, end_minute=120, weekdays=[1, 3])
    msg = validate(
        _sub(**same, text="body", send_window=window, binary=(245, 4)),
        default_sender="RCS",
        default_ttl=dt.timedelta(hours=1),
        trace_parent="00-trace",
        now=send_after - dt.timedelta(hours=1),
    )
    assert msg == NewMessage(
        **same,
        channel=1,
        destination="79161234567",
        body="body",
        trace_parent="00-trace",
        window=(60, 120, 0b101, 0),
        data_coding=245,
        esm_class=4,
    )


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"sender": ""}, "INVALID_SENDER"),
        ({"channel": 7}, "INVALID_MESSAGE_TYPE"),  # IVR: not built
        ({"ttl": dt.timedelta(days=3, seconds=1)}, "INVALID_TTL"),  # REST_BATCH allows 3 days
        ({"destination": "+7-916"}, "INVALID_DESTINATION"),
        ({"client_ref": "r" * 51}, "INVALID_REQUEST"),  # 1-50 in every API's docs
    ],
)
def test_validation_names_the_catalogued_reason(kw: dict[str, object], reason: str) -> None:
    with pytest.raises(RcsError) as err:
        validate(
            _sub(**kw),
            default_sender="" if "sender" in kw else "RCS",
            default_ttl=dt.timedelta(hours=1),
            trace_parent="",
        )
    assert err.value.reason == reason


def test_non_ascii_digits_are_not_numbers_or_ids() -> None:
    assert normalize_msisdn("٧٩١٦١٢٣٤٥٦٧") is None
    assert ids.parse("١٢٣") is None


def test_nul_in_text_is_refused() -> None:
    with pytest.raises(RcsError) as err:
        validate(
            _sub(text="a\x00b"),
            default_sender="RCS",
            default_ttl=dt.timedelta(hours=1),
            trace_parent="",
        )
    assert err.value.reason == "INVALID_TEXT"
