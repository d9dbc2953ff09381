"""Pure parsing and rendering, without sockets."""

from __future__ import annotations

import base64

import pytest
from google.protobuf import timestamp_pb2

from gateways.rest.parsing import (
    decode_json,
    parse_basic_auth,
    parse_extra_params,
    parse_message_id,
    parse_send,
)
from gateways.rest.status_view import rapporto_time
from rcs_runtime import channels
from rcs_runtime.errors import RcsError
from tests.unit.rest.conftest import sms_body


def test_basic_auth_password_may_contain_colons_and_utf8() -> None:
    token = base64.b64encode("acme:пароль:с:двоеточием".encode()).decode()
    assert parse_basic_auth(f"Basic {token}") == ("acme", "пароль:с:двоеточием")


def test_basic_auth_scheme_is_case_insensitive() -> None:
    token = base64.b64encode(b"acme:pw").decode()
    assert parse_basic_auth(f"basic {token}") == ("acme", "pw")


def test_latin1_basic_credentials_are_still_read() -> None:
    token = base64.b64encode("acme:pässword".encode("latin-1")).decode()
    assert parse_basic_auth(f"Basic {token}") == ("acme", "pässword")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1024000007", "1024000007"), ("007", "7"), ("0", None), ("", None), ("1e3", None)],
)
def test_mt_num_is_a_positive_decimal(raw: str, expected: str | None) -> None:
    assert parse_message_id(raw) == expected


def test_mt_num_must_fit_a_signed_64_bit_integer() -> None:
    assert parse_message_id(str(2**63 - 1)) == str(2**63 - 1)
    assert parse_message_id(str(2**63)) is None


def test_content_type_is_compared_case_insensitively() -> None:
    assert decode_json(b"{}", "Application/JSON", None) == {}


def test_invalid_charset_error_names_the_charset() -> None:
    with pytest.raises(RcsError) as caught:
        decode_json("Привет".encode("koi8-r"), "application/json", "utf-8")
    assert caught.value.reason == "INVALID_CHARSET"
    assert "utf-8" in caught.value.message


def test_unknown_charset_is_an_invalid_charset() -> None:
    with pytest.raises(RcsError) as caught:
        decode_json(b"{}", "application/json", "klingon-8")
    assert caught.value.reason == "INVALID_CHARSET"
    assert caught.value.entry.rest_code == 4


def test_deeply_nested_json_is_an_invalid_request() -> None:
    with pytest.raises(RcsError) as caught:
        decode_json(b"[" * 200_000, "application/json", None)
    assert caught.value.reason == "INVALID_REQUEST"


def test_known_but_disabled_type_says_which_are_available() -> None:
    with pytest.raises(RcsError) as caught:
        parse_send(sms_body(message={"type": "IVR", "data": {}}))
    assert caught.value.reason == "INVALID_MESSAGE_TYPE"
    assert f"{channels.built_list()} are available" in caught.value.message


def test_null_optional_fields_count_as_absent() -> None:
    body = sms_body(data={"ttl": None})
    body.update(id=None, registeredDelivery=None, smsPriority=None)
    parsed = parse_send(body)
    assert (parsed.client_ref, parsed.ttl_seconds, parsed.priority) == ("", 0, 0)


def test_times_are_utc_with_rapporto_offset() -> None:
    assert rapporto_time(timestamp_pb2.Timestamp(seconds=1_557_051_635)) == (
        "2019-05-05T10:20:35+0000"
    )


def test_extra_param_follows_rapporto_comma_doubling() -> None:
    raw = (
        "место=абзаково,название=гостевой дом-2,координаты=53.8085896,, 58.6362112,"
        "c=23.02.09,по=05.03.09"
    )
    assert parse_extra_params(raw) == {
        "место": "абзаково",
        "название": "гостевой дом-2",
        "координаты": "53.8085896, 58.6362112",
        "c": "23.02.09",
        "по": "05.03.09",
    }
    assert parse_extra_params("") == {}
    assert parse_extra_params("a=") == {"a": ""}


@pytest.mark.parametrize(
    ("raw", "params"),
    [
        ("a=1,,,b=2", {"a": "1,", "b": "2"}),  # the pair is the value's comma, the odd one splits
        ("a=1,,,,b=2", {"a": "1,,b=2"}),  # an even run is all value
        ("a=,,x", {"a": ",x"}),
        ("a=x,,", {"a": "x,"}),
        ("a=b=c", {"a": "b=c"}),  # only the first "=" separates name and value
        (" trafficType =0, mailing=m1", {"trafficType": "0", "mailing": "m1"}),
        ("a=1,a=2", {"a": "2"}),
        ("   ", {}),
    ],
)
def test_extra_param_comma_runs_and_spacing(raw: str, params: dict[str, str]) -> None:
    assert parse_extra_params(raw) == params


@pytest.mark.parametrize("raw", ["novalue", "a=1,b", "=x", "a=1,", ",a=1", "a=1,,,,,", "a,,b=1"])
def test_extra_param_item_without_name_and_value_is_refused(raw: str) -> None:
    with pytest.raises(RcsError) as caught:
        parse_extra_params(raw)
    assert caught.value.field == "extraParam"


def test_traffic_type_and_mailing_come_from_extra_param() -> None:
    req = parse_send(sms_body(extraParam="trafficType=0,mailing=promo-nov,other=1"))
    sub = req.submission()
    assert sub.HasField("traffic_type")
    assert (sub.traffic_type, sub.mailing) == (0, "promo-nov")
    plain = parse_send(sms_body()).submission()
    assert not plain.HasField("traffic_type")
    assert plain.mailing == ""


@pytest.mark.parametrize(
    "raw",
    [
        "trafficType=3",
        "trafficType=ads",
        "trafficType=",
        "trafficType=-1",
        "mailing=no spaces",
        "mailing=" + "m" * 65,
        "mailing=рассылка",
    ],
)
def test_bad_traffic_type_or_mailing_is_refused(raw: str) -> None:
    with pytest.raises(RcsError) as caught:
        parse_send(sms_body(extraParam=raw))
    assert (caught.value.reason, caught.value.field) == ("INVALID_REQUEST", "extraParam")


def test_other_extra_params_are_ignored_and_values_are_trimmed() -> None:
    req = parse_send(
        sms_body(extraParam="место=абзаково,trafficType= 7 ,координаты=53.8,, 58.6,mailing=a@b.c")
    )
    assert (req.traffic_type, req.mailing) == (7, "a@b.c")


@pytest.mark.parametrize("value", [1, ["trafficType=0"], {"trafficType": 0}])
def test_extra_param_must_be_a_string(value: object) -> None:
    with pytest.raises(RcsError) as caught:
        parse_send(sms_body(extraParam=value))
    assert (caught.value.reason, caught.value.field) == ("INVALID_REQUEST", "extraParam")
