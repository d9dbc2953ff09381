"""Fuzzing the partner APIs' parsing (HTTP v5 parameters, REST v6 JSON, REST_BATCH JSON):
whatever arrives, the parser returns a request or refuses with a documented error — never
another exception, never a hang. A short run in CI; `pytest -m slow` runs 100,000 cases
each."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateways.rest import http_v5_parsing as v5
from gateways.rest.batch_v3 import BatchRefusedError, Rejection, parse_batch
from gateways.rest.parsing import decode_json, parse_send
from rcs_runtime.errors import CATALOGUE, RcsError

BATCH_KEYS = {
    "forbidden",
    "unknown",
    "invalid",
    "length.too.long",
    "must.be.not.null",
    "not.available",
    "too.many.messages",
}
V5_NAMES = (
    "serviceId", "pass", "clientId", "message", "source", "ptag", "partnerMsgId",
    "smsPriority", "output", "flash", "sending_time", "time_zone", "smpp_encoding",
    "smpp_esm_class",
)  # fmt: skip
values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "1", "2", "3", "-1", "79161234567", "+7 916 123-45-67", "xml"]),
    st.text(alphabet="0123456789abcdefABCDEF", max_size=20),
)
v5_params = st.dictionaries(st.sampled_from(V5_NAMES), values, max_size=len(V5_NAMES))
charsets = st.sampled_from([None, "utf-8", "windows-1251", "koi8-r", "latin-1", "nope", ""])


def _v5(query: str, body: bytes, charset: str | None, params: dict[str, str]) -> None:
    refusal: Exception | None = None
    try:
        pairs = v5.collect(
            v5.parse_urlencoded(query, "utf-8"),
            v5.decode_form(body, v5.FORM_CONTENT_TYPE, charset),
            params.items(),
        )
        v5.parse_send(pairs).submission()
    except (RcsError, v5.V5Error) as err:
        refusal = err
    if isinstance(refusal, RcsError):
        assert refusal.reason in CATALOGUE
        assert refusal.entry.http_v5 in v5.V5_CODES
    elif isinstance(refusal, v5.V5Error):
        assert refusal.code in v5.V5_CODES


def _v6(body: bytes, charset: str | None) -> None:
    refusal: RcsError | None = None
    try:
        parse_send(decode_json(body, "application/json", charset)).submission()
    except RcsError as err:
        refusal = err
    assert refusal is None or refusal.reason in CATALOGUE


def _batch(doc: Any) -> None:
    try:
        parsed = parse_batch(doc)
    except BatchRefusedError as err:
        parsed = [err.rejection]
    for item in parsed:
        if isinstance(item, Rejection):
            assert item.key in BATCH_KEYS
            assert item.ref.startswith("messages") or item.ref in ("", "scheduleInfo")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
batch_message = st.fixed_dictionaries(
    {},
    optional={
        "from": values | json_values,
        "to": values | json_values,
        "text": st.text(max_size=2100) | json_values,
        "id": st.text(max_size=60) | json_values,
        "validity": st.integers(-10, 300_000) | json_values,
        "priority": st.integers(-1, 5) | json_values,
        "callbackUrl": st.sampled_from(["https://x.example/cb", "ftp://x", ""]) | json_values,
    },
)
batch_docs = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"messages": st.lists(batch_message | json_values, max_size=5)},
        optional={"scheduleInfo": json_values, "useTimeDiff": json_values},
    ),
)
v6_docs = st.fixed_dictionaries(
    {},
    optional={
        "login": values | json_values,
        "password": values | json_values,
        "destAddr": values | json_values,
        "id": values | json_values,
        "smsPriority": st.integers(-1, 4) | json_values,
        "registeredDelivery": st.integers(-1, 3) | json_values,
        "extraParam": st.text(max_size=60) | json_values,
        "message": st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(["SMS", "VIBER", ""]) | json_values,
                "data": st.fixed_dictionaries(
                    {},
                    optional={
                        "text": st.text(max_size=50) | json_values,
                        "serviceNumber": values | json_values,
                        "ttl": st.integers(-5, 200_000) | json_values,
                        "ttlUnit": st.sampled_from(["SECONDS", "HOURS", "x"]) | json_values,
                    },
                )
                | json_values,
            },
        )
        | json_values,
    },
)
v6_bodies = st.one_of(
    st.binary(max_size=300), v6_docs.map(lambda d: json.dumps(d, ensure_ascii=False).encode())
)


def _fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


@_fuzz(300)
@given(st.text(max_size=200), st.binary(max_size=200), charsets, v5_params)
def test_v5_parameters(
    query: str, body: bytes, charset: str | None, params: dict[str, str]
) -> None:
    _v5(query, body, charset, params)


@_fuzz(300)
@given(v6_bodies, charsets)
def test_v6_json(body: bytes, charset: str | None) -> None:
    _v6(body, charset)


@_fuzz(300)
@given(batch_docs)
def test_batch_json(doc: Any) -> None:
    _batch(doc)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@_fuzz(100_000)
@given(st.text(max_size=200), st.binary(max_size=200), charsets, v5_params)
def test_v5_parameters_100k(
    query: str, body: bytes, charset: str | None, params: dict[str, str]
) -> None:
    _v5(query, body, charset, params)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@_fuzz(100_000)
@given(v6_bodies, charsets)
def test_v6_json_100k(body: bytes, charset: str | None) -> None:
    _v6(body, charset)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@_fuzz(100_000)
@given(batch_docs)
def test_batch_json_100k(doc: Any) -> None:
    _batch(doc)
