"""What a partner receives over the wire — REST v6 and REST_BATCH answers, and the status
callbacks of REST v6, HTTP v5 and REST_BATCH — field by field against the documents'
tables (tests/doc_tables.py), through a whole installation to the simulator and back."""

from __future__ import annotations

import base64
import json
import queue
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from tests import doc_tables as t
from tests.e2e.installation import ADMIN_LOGIN, ADMIN_PASSWORD, Installation, http

pytestmark = pytest.mark.e2e
ADMIN = {
    "Authorization": "Basic "
    + base64.b64encode(f"{ADMIN_LOGIN}:{ADMIN_PASSWORD}".encode()).decode()
}


@pytest.fixture
def receiver() -> Iterator[tuple[str, queue.Queue[tuple[str, str, bytes]]]]:
    """A partner's callback server: (its base URL, what it received)."""
    got: queue.Queue[tuple[str, str, bytes]] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def _take(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            got.put((self.command, self.path, self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            self._take()

        def do_POST(self) -> None:
            self._take()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", got
    server.shutdown()
    server.server_close()


def _next(got: queue.Queue[tuple[str, str, bytes]], path: str) -> tuple[str, str, bytes]:
    while True:
        method, at, body = got.get(timeout=30)
        if urlsplit(at).path == path:
            return method, at, body


@pytest.mark.smsc(receipt_delay_min_ms=0, receipt_delay_max_ms=20)
def test_answers_and_status_callbacks_match_their_tables(
    installation: Installation, receiver: tuple[str, queue.Queue[tuple[str, str, bytes]]]
) -> None:
    base, got = receiver
    installation.start()
    installation.wait_ready(60)
    status, _ = http(
        "PATCH",
        installation.url("/api/admin/v1/partners/demo"),
        {"reportUrl": f"{base}/v5"},
        headers=ADMIN,
    )
    assert status == 200
    status, created = http(
        "POST", installation.url("/api/admin/v1/partners/demo/api-keys"), {}, headers=ADMIN
    )
    assert status == 201, created

    # REST v6: the send answer, then the status callback to notifyUrl.
    for own in ({"id": "order-1"}, {}):
        status, sent = http(
            "POST",
            installation.url("/api/v6/send"),
            {
                "login": "demo",
                "password": "demo",
                "destAddr": "79161234567",
                "notifyUrl": f"{base}/v6",
                "message": {"type": "SMS", "data": {"text": "Hi", "serviceNumber": "RCS"}},
                **own,
            },
        )
        assert status == 200, sent
        t.assert_matches(sent, t.REST_V6_SENT, "REST v6 send answer")
        method, _, body = _next(got, "/v6")
        assert method == "POST"
        report = json.loads(body)
        t.assert_matches(report, t.REST_V6_STATUS, "REST v6 status callback")
        assert (report["mtNum"], report["status"], report["trafficType"]) == (sent["mtNum"], 2, 2)

    # REST v6 refusal.
    status, refused = http("POST", installation.url("/api/v6/send"), {"login": "demo"})
    assert status == 400, refused
    t.assert_matches(refused, t.REST_V6_ERROR, "REST v6 error answer")
    t.assert_matches(refused["error"], t.REST_V6_ERROR_OBJECT, "REST v6 error object")

    # HTTP v5: the status callback to the partner's configured URL.
    query = urlencode(
        {"serviceId": "demo", "pass": "demo", "clientId": "79161234567", "message": "Hi"}
    )
    with urllib.request.urlopen(installation.url(f"/api/http/v5/send?{query}"), timeout=10) as r:
        v5_id = r.read().decode().split("\n")[1]
    method, at, _ = _next(got, "/v5")
    params = dict(parse_qsl(urlsplit(at).query))
    assert method == "GET"
    t.assert_matches(params, t.HTTP_V5_STATUS, "HTTP v5 status callback")
    assert params["transactionId"] == v5_id

    # REST_BATCH: the answer with one message taken and one refused, then the callback.
    status, answer = http(
        "POST",
        installation.url("/api/batch/v3/messages"),
        {
            "messages": [
                {
                    "from": "RCS",
                    "to": "79161234567",
                    "text": "Hi",
                    "id": "b-1",
                    "callbackUrl": f"{base}/batch",
                },
                {"from": "RCS", "to": "12", "text": "Hi"},
            ]
        },
        headers={"Authorization": f"Key {created['key']}"},
    )
    assert status == 200, answer
    t.assert_matches(answer, t.BATCH_V3_ANSWER, "REST_BATCH answer")
    ok, rejected = answer["result"]
    for result in (ok, rejected):
        t.assert_matches(result, t.BATCH_V3_RESULT, "REST_BATCH result")
    assert (ok["code"], rejected["code"], rejected["messageId"]) == ("OK", "REJECTED", None)
    for reason in rejected["reasons"]:
        t.assert_matches(reason, t.BATCH_V3_REASON, "REST_BATCH reason")
        assert reason["key"] in t.BATCH_V3_REASON_KEYS
    method, _, body = _next(got, "/batch")
    callback = json.loads(body)
    t.assert_matches(callback, t.BATCH_V3_STATUS, "REST_BATCH status callback")
    assert (callback["messageId"], callback["id"]) == (ok["messageId"], "b-1")
