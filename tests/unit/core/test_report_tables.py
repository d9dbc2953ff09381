"""Every status callback and MO request we send partners, field by field against its
document's table (tests/doc_tables.py): for each final status, with and without the
partner's own ids."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from rcs_core.messages.statuses import Status
from rcs_core.reports.formats import FORMAT_BATCH_V3, FORMAT_HTTP_V5, FORMAT_REST_V6, request_of
from tests import doc_tables as t
from tests.unit.core.test_report_formats import MOSCOW, inbound, report

FINALS = [Status.DELIVERED, Status.UNDELIVERED, Status.EXPIRED, Status.REJECTED, Status.READ]
OWN_IDS: list[dict[str, Any]] = [{}, {"client_ref": "order-1", "ptag": "dep-7"}]


def _json(fmt: int, **body: Any) -> Any:
    out = request_of(report(fmt, **body), MOSCOW)
    assert out.method == "POST"
    return json.loads(out.body)


def _query(url: str) -> dict[str, str]:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    found = dict(pairs)
    assert len(found) == len(pairs), f"a parameter is repeated: {pairs}"
    return found


@pytest.mark.parametrize("status", FINALS)
@pytest.mark.parametrize("own", OWN_IDS)
def test_rest_v6_status_callback_matches_rest_status_table(
    status: Status, own: dict[str, Any]
) -> None:
    doc = _json(FORMAT_REST_V6, status=int(status), traffic_type=2, error_code=8, **own)
    t.assert_matches(doc, t.REST_V6_STATUS, "REST v6 status callback")
    assert doc["status"] in (0, 2, 5, 9), doc  # the table's values
    assert ("id" in doc) == bool(own)


def test_rest_v6_status_callback_without_traffic_type_is_off_the_table() -> None:
    """The check itself: a report of a message whose traffic type is unknown misses the
    field the table requires (core stores routing's type at SENT so that it is known)."""
    doc = _json(FORMAT_REST_V6, traffic_type=None)
    assert t.mismatches(doc, t.REST_V6_STATUS)["missing"] == ["trafficType"]


@pytest.mark.parametrize("status", FINALS)
@pytest.mark.parametrize("own", OWN_IDS)
def test_http_v5_status_callback_matches_http_status_table(
    status: Status, own: dict[str, Any]
) -> None:
    out = request_of(report(FORMAT_HTTP_V5, status=int(status), error_code=8, **own), MOSCOW)
    assert out.method == "GET"
    params = _query(out.url)
    t.assert_matches(params, t.HTTP_V5_STATUS, "HTTP v5 status callback")
    assert params["status"] in ("0", "2", "5", "9"), params
    assert ("unifiedExtStatus" in params) == (params["status"] == "5")


@pytest.mark.parametrize("status", FINALS)
@pytest.mark.parametrize("own", OWN_IDS)
def test_batch_v3_status_callback_matches_rest_batch_status_table(
    status: Status, own: dict[str, Any]
) -> None:
    doc = _json(FORMAT_BATCH_V3, status=int(status), error_code=8, **own)
    t.assert_matches(doc, t.BATCH_V3_STATUS, "REST_BATCH status callback")
    assert doc["status"] in t.BATCH_V3_STATUSES, doc
    assert ("errorCode" in doc) == (doc["status"] in ("REJECTED", "UNDELIVERABLE"))


@pytest.mark.parametrize("text", ["Hello", ""])
def test_rest_v6_mo_matches_rest_mo_table(text: str) -> None:
    out = request_of(inbound(FORMAT_REST_V6, text=text), MOSCOW)
    doc = json.loads(out.body)
    t.assert_matches(doc, t.REST_V6_MO, "REST v6 MO")
    assert ("message" in doc) == bool(text)


def test_http_v5_mo_matches_http_mo_table() -> None:
    out = request_of(inbound(FORMAT_HTTP_V5), dt.UTC, login="login")
    t.assert_matches(_query(out.url), t.HTTP_V5_MO, "HTTP v5 MO")


def test_the_table_check_names_missing_extra_and_mistyped_fields() -> None:
    found = t.mismatches({"mtNum": 5, "extra": ""}, t.REST_V6_SENT)
    assert found == {"missing": [], "extra": ["extra"], "mistyped": ["mtNum=5"]}
    assert t.mismatches({}, t.REST_V6_SENT)["missing"] == ["mtNum"]
