"""Property tests of the guards in front of every parser (issue 15 item 8): any bytes as a
JSON body and any text as a path or query number are either taken or refused with the
documented error, never an exception that the gateway would answer 500."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gateways.rest.admin import INT32_MAX, INT64_MAX, _number
from gateways.rest.body import MAX_JSON_DEPTH, check_depth, loads_json
from rcs_runtime.errors import RcsError


@given(st.binary(max_size=300))
@example(b"[" * 100_000 + b"]" * 100_000)
@example(b'{"a":' * 100_000 + b"1" + b"}" * 100_000)
@example(b"1" * 5000)  # int() of more than 4300 digits raises ValueError, caught the same
def test_any_bytes_load_or_are_refused_as_value_errors(body: bytes) -> None:
    with contextlib.suppress(ValueError, UnicodeDecodeError):  # both answered 400
        loads_json(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=30,
)


@given(json_values)
def test_shallow_documents_load_as_json_does(doc: Any) -> None:
    assert loads_json(json.dumps(doc)) == doc


def nested(depth: int) -> Any:
    doc: Any = 1
    for _ in range(depth):
        doc = [doc]
    return doc


def test_nesting_is_bounded_without_recursion() -> None:
    check_depth(nested(MAX_JSON_DEPTH))
    with pytest.raises(ValueError, match="nested deeper than"):
        check_depth(nested(MAX_JSON_DEPTH + 1))
    with pytest.raises(ValueError, match="nested"):
        loads_json(json.dumps(nested(MAX_JSON_DEPTH + 1)))


@given(st.text(max_size=30), st.sampled_from([INT32_MAX, INT64_MAX]))
@example("1" + "0" * 20, INT64_MAX)
@example(str(2**63), INT64_MAX)
@example("١٢", INT32_MAX)  # Arabic-Indic digits: int() takes them
@example("1_0", INT32_MAX)
@example(" 7", INT32_MAX)
@example("-1", INT32_MAX)
def test_path_and_query_numbers_are_taken_in_range_or_refused(raw: str, maximum: int) -> None:
    if raw.isascii() and raw.isdigit() and int(raw) <= maximum:
        assert _number(raw, "the number", maximum) == int(raw)
        return
    with pytest.raises(RcsError) as refused:
        _number(raw, "the number", maximum)
    assert (refused.value.reason, refused.value.entry.http_status) == ("INVALID_REQUEST", 400)
