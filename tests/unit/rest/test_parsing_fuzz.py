"""Fuzzing the partner APIs' parsing (HTTP v5 parameters, REST v6 JSON, REST_BATCH JSON):
whatever arrives, the parser returns a request or refuses with a documented error — never
another exception, never a hang. A short run in CI; `pytest -m slow` runs 100,000 cases
each."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateways.rest import http_v5_parsing as v5
from gateways.rest.batch_v3 import (
    DEFAULT_VALIDITY,
    MAX_MESSAGES,
    BatchRefusedError,
    Rejection,
    parse_batch,
)
from gateways.rest.parsing import MAX_REPORT_URL_CHARS, decode_json, parse_send
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2
from rcs_runtime.errors import CATALOGUE, RcsError

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


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
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


# REST_BATCH v3. Built for volume (100,000 cases in minutes, not recursive JSON with
# thousands of messages): a batch holds 1-4 messages, most from a pool of valid messages
# with up to three fields dropped or wrong (wrong JSON types, numbers as strings, nulls,
# nesting, odd Unicode, lengths at the limits), others generated (Unicode text, JSON);
# the envelope gets unknown keys, wrong types, scheduleInfo / useTimeDiff / shortenUrl,
# empty or missing messages. The 3,000-message limit is reached, rarely, by repeating
# the fuzzed messages, and on every run by the examples and the targeted test below.
# Each case is checked against the documented rules (rest_batch_sms.rst), restated here
# as what must be refused and what may be (where the rule is another module's, e.g. the
# schedule's clock arithmetic or a URL's finer points).
PACKET_KEYS = {"invalid", "forbidden", "must.be.not.null", "too.many.messages"}
MESSAGE_KEYS = {"invalid", "not.available", "length.too.long"}
FIELDS = ("from", "to", "text", "id", "validity", "priority", "callbackUrl")
SCHEDULE_MEMBERS = ("timeBegin", "timeEnd", "weekdaysSchedule", "deadline")
LONGEST_URL = "https://p.example/" + "x" * (MAX_REPORT_URL_CHARS - 18)
GOOD_URLS = ("https://p.example/cb", "http://10.0.0.1:8080/s?x=1", "HTTPS://P.EXAMPLE", LONGEST_URL)
BAD_URLS = (
    "", " ", "ftp://p.example/cb", "https://", "http://:80/x", "https://p.example:99999/",
    "http://p.example/a b", "https://p.example/\x00", "mailto:x@p.example", "//p.example",
    LONGEST_URL + "x",
)  # fmt: skip
_URL_START = re.compile(r"https?://[^/\s]", re.IGNORECASE)
NOWS = (  # a Friday afternoon, a Sunday 23:59 and a Monday 09:00 in Moscow (UTC+3)
    dt.datetime(2024, 5, 10, 13, 29, 30, tzinfo=dt.UTC),
    dt.datetime(2024, 5, 12, 20, 59, 59, tzinfo=dt.UTC),
    dt.datetime(2024, 5, 13, 6, 0, tzinfo=dt.UTC),
)
MISSING = object()  # the key is left out
Problems = dict[str, set[str]]


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _scheduled(doc: dict[str, Any]) -> bool:
    info = doc.get("scheduleInfo")
    return isinstance(info, dict) and any(info.get(k) is not None for k in SCHEDULE_MEMBERS)


def _packet_problems(doc: Any) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(key, ref) of the reasons the whole request must be refused for, and of those it
    may be refused for."""
    if not isinstance(doc, dict):
        return {("invalid", "")}, set()
    must, may = set(), set()
    if doc.get("shortenUrl"):
        must.add(("forbidden", "shortenUrl"))
    info, time_diff = doc.get("scheduleInfo"), doc.get("useTimeDiff")
    if time_diff is not None and not isinstance(time_diff, bool):
        must.add(("invalid", "useTimeDiff"))
    if info is not None and not isinstance(info, dict):
        must.add(("invalid", "scheduleInfo"))
    if isinstance(info, dict) and _scheduled(doc):
        # Times, weekdays and the deadline against the clock: schedule.py's rules.
        may.add(("invalid", "scheduleInfo"))
        for member in SCHEDULE_MEMBERS:
            value = info.get(member)
            if value is not None and not isinstance(value, str):
                must.add(("invalid", f"scheduleInfo.{member}"))
            may.add(("invalid", f"scheduleInfo.{member}"))
    messages = doc.get("messages")
    if not isinstance(messages, list) or not messages:
        must.add(("must.be.not.null", "messages"))
    elif len(messages) > MAX_MESSAGES:
        must.add(("too.many.messages", "messages"))
    return must, may


def _field_problems(m: dict[str, Any], scheduled: bool) -> tuple[Problems, Problems]:
    """Field → keys: what one message must be refused for, and what it may be."""
    must: Problems = {}
    may: Problems = {}
    sender, to, text, client_ref = m.get("from"), m.get("to"), m.get("text"), m.get("id")
    if not (isinstance(sender, str) and 1 <= len(sender.strip()) <= 21):
        must["from"] = {"not.available"}
    if not (isinstance(to, str) and to.strip()):
        must["to"] = {"invalid"}
    if not (isinstance(text, str) and text):
        must["text"] = {"invalid"}
    elif len(text) > 2000:
        must["text"] = {"length.too.long"}
    if not (client_ref is None or (isinstance(client_ref, str) and len(client_ref) <= 50)):
        must["id"] = {"invalid"}
    if "validity" in m and not _int_in(m["validity"], 60, 259_200):
        must["validity"] = {"invalid"}
    elif scheduled:  # the window opens after the validity ends
        may["validity"] = {"invalid"}
    if "priority" in m and not _int_in(m["priority"], 0, 3):
        must["priority"] = {"invalid"}
    url = m.get("callbackUrl")
    if url is None or url in GOOD_URLS:
        pass
    elif (
        not isinstance(url, str)
        or url in BAD_URLS
        or len(url) > MAX_REPORT_URL_CHARS
        or not _URL_START.match(url)
        or any(c.isspace() or ord(c) < 0x20 for c in url)
    ):
        must["callbackUrl"] = {"invalid"}
    else:  # a port, a host name: parsing.is_report_url's finer rules
        may["callbackUrl"] = {"invalid"}
    return must, may


def _check_message(i: int, m: Any, got: Any, now: dt.datetime, scheduled: bool) -> None:
    ref = f"messages[{i}]"
    if not isinstance(m, dict):
        assert isinstance(got, Rejection)
        assert (got.key, got.ref) == ("invalid", ref)
        assert got.description
        return
    must, may = _field_problems(m, scheduled)
    if isinstance(got, Rejection):
        # The first problem wins; whichever it is, it names a wrong field and its key.
        field = got.ref.removeprefix(f"{ref}.")
        assert got.ref == f"{ref}.{field}", got
        assert got.key in must.get(field, set()) | may.get(field, set()), (got, must, may)
        assert got.key in MESSAGE_KEYS
        assert got.description
        return
    assert not must, (m, must)
    assert isinstance(got, message_service_pb2.MessageSubmission)
    assert got.destination == m["to"].strip()
    assert got.sms.sender == m["from"].strip()
    assert got.sms.text == m["text"]
    assert got.client_ref == (m.get("id") or "")
    assert got.priority == min(m.get("priority", 0), 2)
    assert got.channel == channel_pb2.CHANNEL_SMS
    assert got.receipt_request == message_pb2.RECEIPT_REQUEST_ALL
    assert got.report_format == message_service_pb2.REPORT_FORMAT_BATCH_V3
    assert got.report_url == (m.get("callbackUrl") or "")
    validity = m.get("validity", DEFAULT_VALIDITY)
    if scheduled:  # a deadline may shorten the validity; a window may delay the start
        assert 1 <= got.ttl.seconds <= validity
        send_after = got.send_after.ToDatetime(dt.UTC)
        assert not got.HasField("send_after") or now < send_after < now + got.ttl.ToTimedelta()
    else:
        assert got.ttl.seconds == validity
        assert not got.HasField("send_after")
    assert got.ttl.nanos == 0
    # It can go to core as it is.
    assert message_service_pb2.MessageSubmission.FromString(got.SerializeToString()) == got


def _batch(doc: Any, now: dt.datetime = NOWS[0]) -> None:
    """A refusal is a documented one (400, a Rapporto key naming what is wrong); otherwise
    every message has its result, in order: a submission carrying exactly what was sent,
    or a rejection naming one of the message's wrong fields."""
    must, may = _packet_problems(doc)
    refusal: BatchRefusedError | None = None
    try:
        parsed = parse_batch(doc, now)
    except BatchRefusedError as err:
        refusal = err
    if refusal is not None:
        r = refusal.rejection
        assert refusal.status == 400
        assert (r.key, r.ref) in must | may, (r, must, may)
        assert r.key in PACKET_KEYS
        assert r.description
        return
    assert not must, must
    messages = doc["messages"]
    assert len(parsed) == len(messages)
    scheduled = _scheduled(doc)
    for i, (m, got) in enumerate(zip(messages, parsed, strict=True)):
        _check_message(i, m, got, now, scheduled)


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """``one_of`` with weights (its branches are equally likely); shrinks to the first."""
    table = tuple(strategy for weight, strategy in choices for _ in range(weight))
    index = st.integers(0, len(table) - 1)

    @st.composite
    def one(draw: st.DrawFn) -> Any:
        return draw(table[draw(index)])

    return one()


GOOD_MESSAGE = {"from": "ACME", "to": "79031234567", "text": "Code: 1234"}
BAD_MESSAGE = {**GOOD_MESSAGE, "validity": "60"}

# Hypothesis spends its time per draw (some 50 µs), so most values come from pools (one
# draw each), made up front with a fixed seed, and generated values (Unicode text, wrong
# JSON) are mixed in where they matter. Every strategy is built once, here: building one
# inside a draw costs more than drawing.
ODD_STRINGS = [
    "", " ", "\t\r\n", "\x00", "\u200b", "\ufeff79031234567", "\u202eEMCA", "null", "None",
    "true", "[]", "{}", "NaN", "-0", "1e3", "0x3C", "٧٩٠٣٤٥٦٧٨٩٠", "７９０３４５６７８９０",
    "😀", "e\u0301", "𝔄𝔠𝔪𝔢", "<sms/>", "' OR 1=1 --", "%00", "\\u0000", "\U0010ffff",
]  # fmt: skip
NUMBER_STRINGS = ["60", "259200", "3", "0", "-1", "79031234567", "+79031234567", "60.0", " 60 "]
WRONG_VALUES: list[Any] = [  # of every JSON type, nested; NaN and ±Infinity are JSON to Python too
    None, True, False, 0, -1, 2**64, -(2**63), 1.5, 1e308, math.inf, -math.inf, math.nan,
    *ODD_STRINGS, *NUMBER_STRINGS, [], [None], ["ACME", 1], [[[]]], {}, {"a": None},
    {"": {"": []}}, {"messages": []}, [{"from": "ACME"}],
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(ODD_STRINGS + NUMBER_STRINGS),
)
# Generated JSON, two levels deep: enough for every "not a string / not an int" branch.
junk = (
    scalars
    | st.lists(scalars, max_size=3)
    | st.dictionaries(st.text(max_size=6), scalars | st.lists(scalars, max_size=2), max_size=3)
)
wrong = weighted((3, st.sampled_from(WRONG_VALUES)), (1, junk))


def _valid_messages(count: int) -> list[dict[str, Any]]:
    """Messages the rules accept, each field's edge values combined (a fixed sample)."""
    pools: dict[str, list[Any]] = {
        "from": ["ACME", "Shop 24", "79031234567", " ACME ", "Кафе", "店", "a", "Ѐ" * 21],
        "to": ["79031234567", "+7 903 123-45-67", " 79031234567 ", "1", "٧٩٠٣", "abc"],
        "text": ["Code: 1234", "x", " ", "Привет", "😀" * 2000, "x" * 2000, "a\x00b", "e\u0301"],
        "id": [MISSING, None, "", "x-1", "Ж" * 50, "😀"],
        "validity": [MISSING, 60, 61, DEFAULT_VALIDITY, 259_199, 259_200],
        "priority": [MISSING, 0, 1, 2, 3],
        "callbackUrl": [MISSING, None, *GOOD_URLS],
    }
    rng = random.Random(20240510)
    out = [dict(GOOD_MESSAGE)]
    while len(out) < count:
        m = {field: rng.choice(pool) for field, pool in pools.items()}
        out.append({field: value for field, value in m.items() if value is not MISSING})
    return out


BAD_VALUES: dict[str, list[Any]] = {  # MISSING: the field is left out
    "from": [MISSING, None, "", " ", "\t\n", "x" * 22, "Ѐ" * 22, 79031234567, True, ["ACME"]],
    "to": [MISSING, None, "", "  ", 79031234567, 7.9e10, True, ["79031234567"], {"to": "1"}],
    "text": [MISSING, None, "", "x" * 2001, "😀" * 2001, 1234, ["a"], {"text": "x"}],
    "id": [7, True, 1.5, "x" * 51, "😀" * 51, ["x"], {}],
    "validity": [None, 59, 259_201, 0, -1, 60.0, True, False, "60", "259200", 2**64, [60]],
    "priority": [None, -1, 4, 1.0, True, False, "1", 2**64, [1]],
    "callbackUrl": [*BAD_URLS, 5, True, [], {"url": GOOD_URLS[0]}],
}
FUZZED_STRINGS = ("from", "to", "text", "id", "callbackUrl")
valid_messages = st.sampled_from(_valid_messages(500))
fuzzed_fields = weighted(  # a field of fuzzed Unicode text
    (3, st.just(None)),
    (2, st.tuples(st.sampled_from(FUZZED_STRINGS), st.text(max_size=30))),
    (1, st.tuples(st.sampled_from(FUZZED_STRINGS), st.sampled_from(ODD_STRINGS))),
)
bad_fields = weighted(
    (3, st.sampled_from([(f, v) for f, values in BAD_VALUES.items() for v in values])),
    (1, st.tuples(st.sampled_from(FIELDS), wrong)),
)
mutations = st.lists(bad_fields, max_size=2)
odd_keys = st.sampled_from(["From", "TO", "text ", "", "msisdn", "messages", "scheduleInfo"])
UNKNOWN_KEYS: list[dict[str, Any]] = [
    {"From": "ACME"},
    {"": None},
    {"msisdn": [1]},
    {"TO": {"a": 1}},
    {"text ": 1},
]
unknown_keys = weighted(  # ignored
    (6, st.just({})),
    (1, st.sampled_from(UNKNOWN_KEYS)),
    (1, st.dictionaries(odd_keys | st.text(max_size=10), wrong, min_size=1, max_size=2)),
)


@st.composite
def batch_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A valid message with a field made of fuzzed text, up to two fields dropped or
    wrong, unknown keys: valid and refused messages mix in one batch."""
    m = dict(draw(valid_messages))
    fuzzed = draw(fuzzed_fields)
    if fuzzed is not None:
        m[fuzzed[0]] = fuzzed[1]
    for field, value in draw(mutations):
        if value is MISSING:
            m.pop(field, None)
        else:
            m[field] = value
    m.update(draw(unknown_keys))
    return m


def _pad(messages: list[Any], total: int) -> list[Any]:
    return (messages * (total // len(messages) + 1))[:total]


def _message_pool(count: int) -> list[dict[str, Any]]:
    """What batch_messages draws, made up front (a fixed sample) so that most messages of
    a batch cost one draw: valid messages, odd strings, up to three wrong fields."""
    rng = random.Random(20240511)
    valid = _valid_messages(500)
    bad = [(field, value) for field, values in BAD_VALUES.items() for value in values]
    out = []
    for _ in range(count):
        m = dict(rng.choice(valid))
        if rng.random() < 0.3:
            m[rng.choice(FUZZED_STRINGS)] = rng.choice(ODD_STRINGS)
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3])):
            field, value = rng.choice(bad)
            if value is MISSING:
                m.pop(field, None)
            else:
                m[field] = value
        if rng.random() < 0.2:
            m.update(rng.choice(UNKNOWN_KEYS))
        out.append(m)
    return out


items = weighted((6, st.sampled_from(_message_pool(3000))), (2, batch_messages()), (1, wrong))
messages_values = weighted(
    (12, st.lists(items, min_size=1, max_size=4)),
    (1, st.just([])),
    (1, st.just(MISSING)),
    (1, wrong),
)
CLOCK_TIMES = ["09:00", "21:00", "00:00", "24:00", "23:59", "9:05", "18:30", "9:5", "25:00", ""]
DEADLINES = [
    "2024-05-10T16:29:30+0300", "2024-05-10T17:29:31+0300", "2024-05-13T09:00:00+0300",
    "2030-01-01T00:00:00+0000", "2020-01-01T00:00:00Z", " 2024-05-11T00:00:00+0300 ",
    "2024-05-10 16:29:30", "2024-05-10T16:29:30", "0001-01-01T00:00:00+0100",
    "9999-12-31T23:59:59-0100", "tomorrow",
]  # fmt: skip
WEEKDAYS = ["12345", "67", "", "1234567", "5", "8", "1,2"]


def _packet_options(count: int) -> list[dict[str, Any]]:
    """scheduleInfo, useTimeDiff and shortenUrl, present or not, right or wrong."""
    schedule = {
        "timeBegin": [MISSING, MISSING, None, *CLOCK_TIMES, 9],
        "timeEnd": [MISSING, MISSING, None, *CLOCK_TIMES, [21]],
        "weekdaysSchedule": [MISSING, MISSING, None, *WEEKDAYS, 12345],
        "deadline": [MISSING, MISSING, None, *DEADLINES, 1715347770],
    }
    rng = random.Random(20240513)
    out = []
    for _ in range(count):
        info = {k: rng.choice(pool) for k, pool in schedule.items()}
        options = {
            "scheduleInfo": rng.choice(
                [MISSING] * 3
                + [None, {}, "", [5]]
                + [{k: v for k, v in info.items() if v is not MISSING}] * 4
            ),
            "useTimeDiff": rng.choice([MISSING] * 12 + [None, False, True, "true", 1, []]),
            "shortenUrl": rng.choice([MISSING] * 12 + [None, False, 0, "", True, 1, "no"]),
        }
        out.append({k: v for k, v in options.items() if v is not MISSING})
    return out


packet_options = weighted(
    (4, st.just({})),
    (4, st.sampled_from(_packet_options(500))),
    (
        1,
        st.fixed_dictionaries(
            {},
            optional={
                "scheduleInfo": st.fixed_dictionaries(
                    {},
                    optional={
                        "timeBegin": st.sampled_from(CLOCK_TIMES) | wrong,
                        "timeEnd": st.sampled_from(CLOCK_TIMES) | wrong,
                        "weekdaysSchedule": st.sampled_from(WEEKDAYS) | wrong,
                        "deadline": st.sampled_from(DEADLINES) | wrong,
                    },
                )
                | wrong,
                "useTimeDiff": weighted((3, st.sampled_from([None, False, True])), (1, wrong)),
                "shortenUrl": weighted((3, st.sampled_from([None, False])), (1, wrong)),
            },
        ),
    ),
)
big = weighted((999, st.just(False)), (1, st.just(True)))  # 0.1%: pad to the limit
big_sizes = st.sampled_from([MAX_MESSAGES - 1, MAX_MESSAGES, MAX_MESSAGES + 1])


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    doc = dict(draw(unknown_keys))
    doc.update(draw(packet_options))
    messages = draw(messages_values)
    if messages is not MISSING:
        doc["messages"] = messages
        if isinstance(messages, list) and messages and draw(big):
            doc["messages"] = _pad(messages, draw(big_sizes))
    return doc


batch_docs = weighted((9, envelopes()), (1, wrong))  # wrong: not an object


def _one_wrong_field() -> list[dict[str, Any]]:
    """Every wrong value of the pools, alone in an otherwise valid message."""
    out = []
    for field, values in BAD_VALUES.items():
        for value in values:
            m = {**GOOD_MESSAGE, field: value}
            if value is MISSING:
                del m[field]
            out.append(m)
    return out


def _batch_examples(test: Any) -> Any:
    """On every run: the limits (1 and 3,000 messages pass, 3,001 do not), and each wrong
    value alone, with and without a schedule."""
    for doc in (
        {"messages": [GOOD_MESSAGE]},
        {"messages": _pad([GOOD_MESSAGE, BAD_MESSAGE, 7], MAX_MESSAGES)},
        {"messages": _pad([GOOD_MESSAGE], MAX_MESSAGES + 1)},
        {"messages": [GOOD_MESSAGE], "useTimeDiff": False, "shortenUrl": None},
        {"messages": [GOOD_MESSAGE, *_one_wrong_field()]},
        {
            "messages": [GOOD_MESSAGE, *_one_wrong_field()],
            "scheduleInfo": {"timeBegin": "09:00", "timeEnd": "21:00", "weekdaysSchedule": "12345"},
        },
    ):
        test = example(doc, NOWS[1])(test)
    return test


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
@_batch_examples
@given(batch_docs, st.sampled_from(NOWS))
def test_batch_json(doc: Any, now: dt.datetime) -> None:
    _batch(doc, now)


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
@_batch_examples
@given(batch_docs, st.sampled_from(NOWS))
def test_batch_json_100k(doc: Any, now: dt.datetime) -> None:
    _batch(doc, now)


@pytest.mark.parametrize("size", [1, 2, 2999, 3000, 3001, 6000])
def test_batch_message_count_limits(size: int) -> None:
    doc = {"messages": _pad([GOOD_MESSAGE, BAD_MESSAGE, 7], size)}
    _batch(doc)
    if size > MAX_MESSAGES:
        with pytest.raises(BatchRefusedError) as caught:
            parse_batch(doc)
        assert (caught.value.rejection.key, caught.value.rejection.ref) == (
            "too.many.messages",
            "messages",
        )
        return
    parsed = parse_batch(doc)
    assert len(parsed) == size
    assert [type(p) for p in parsed[:3]] == [
        message_service_pb2.MessageSubmission,
        Rejection,
        Rejection,
    ][:size]
    assert isinstance(parsed[-1], message_service_pb2.MessageSubmission) == (size % 3 == 1)


@pytest.mark.parametrize("field", ["from", "to", "text", "id"])
def test_batch_lone_surrogate_is_refused(field: str) -> None:
    doc = json.loads(json.dumps({"messages": [{**GOOD_MESSAGE, field: "A\ud800"}]}))
    (got,) = parse_batch(doc)
    assert isinstance(got, Rejection)
    assert (got.key, got.ref) == ("invalid", f"messages[0].{field}")
