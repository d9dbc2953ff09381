"""REST_BATCH's reason keys and REST v6's error codes against their documents' tables
(tests/doc_tables.py): every refusal a gateway can give is one the documents list."""

from __future__ import annotations

from gateways.rest import batch_v3
from gateways.rest.errors import DESCRIPTIONS, error_body
from rcs_runtime.errors import CATALOGUE
from tests import doc_tables as t


def test_every_core_refusal_maps_to_a_documented_batch_reason_key() -> None:
    keys = {e.batch_key for e in CATALOGUE.values()}
    assert keys <= t.BATCH_V3_REASON_KEYS, keys - t.BATCH_V3_REASON_KEYS
    # And a reason core may add later falls back to a documented key too.
    assert batch_v3._core_rejection(0, "SOMETHING_NEW", "").key in t.BATCH_V3_REASON_KEYS


def test_every_catalogued_error_is_a_documented_rest_v6_error_body() -> None:
    for entry in CATALOGUE.values():
        body = error_body(entry, "")
        t.assert_matches(body, t.REST_V6_ERROR, f"REST v6 error {entry.reason}")
        t.assert_matches(body["error"], t.REST_V6_ERROR_OBJECT, f"error of {entry.reason}")
        code = body["error"]["code"]
        assert code in t.REST_V6_ERROR_CODES, (entry.reason, code)
        assert body["error"]["description"] == t.REST_V6_ERROR_CODES[code], entry.reason
    assert set(DESCRIPTIONS) <= set(t.REST_V6_ERROR_CODES)
