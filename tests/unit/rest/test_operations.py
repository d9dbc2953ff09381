"""Health, metrics and the per-request log line."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY

from tests.conftest import free_port
from tests.unit.rest.conftest import Client, gateway, post_send, sms_body


async def test_healthz_is_ok_when_core_is_serving(client: Client) -> None:
    resp = await client.get("/healthz")
    assert (resp.status, await resp.text()) == (200, "ok")


async def test_healthz_is_503_and_livez_ok_when_core_is_down() -> None:
    async with gateway(f"127.0.0.1:{free_port()}", rpc_timeout_seconds=1) as client:
        health = await client.get("/healthz")
        live = await client.get("/livez")
        assert health.status == 503
        assert (live.status, await live.text()) == (200, "ok")


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_count_requests_by_route_status_and_code(client: Client) -> None:
    ok = {"route": "send", "status": "200", "code": "0"}
    bad = {"route": "send", "status": "401", "code": "6"}
    before_ok, before_bad = (
        _sample("rcs_rest_requests_total", ok),
        _sample("rcs_rest_requests_total", bad),
    )
    before_latency = _sample("rcs_rest_request_duration_seconds_count", {"route": "send"})
    await post_send(client, sms_body())
    await post_send(client, sms_body(password="guess"))
    assert _sample("rcs_rest_requests_total", ok) == before_ok + 1
    assert _sample("rcs_rest_requests_total", bad) == before_bad + 1
    assert _sample("rcs_rest_request_duration_seconds_count", {"route": "send"}) == (
        before_latency + 2
    )
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    text = await resp.text()
    assert 'rcs_rest_requests_total{code="6",route="send",status="401"}' in text


async def test_unmatched_paths_share_one_metrics_label(client: Client) -> None:
    labels = {"route": "unmatched", "status": "404", "code": "4"}
    before = _sample("rcs_rest_requests_total", labels)
    await client.get("/random/a")
    await client.get("/random/b")
    assert _sample("rcs_rest_requests_total", labels) == before + 2


async def test_one_log_line_per_request_masks_number_and_omits_secrets(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = sms_body(password="s3cret", data={"text": "PIN 4711 do not log"})
    resp, _ = await post_send(client, body)
    assert resp.status == 200
    lines = [r for r in caplog.records if r.getMessage() == "rest_request"]
    assert len(lines) == 1
    line = lines[0].__dict__
    assert line["route"] == "send"
    assert line["status"] == 200
    assert line["code"] == 0
    assert line["partner"] == "acme"
    assert line["dest"] == "7916*****67"
    assert isinstance(line["latency_ms"], float)
    # What was logged: each message and its fields, not the record's own bookkeeping
    # (created time, pid, thread id), where "4711" may turn up by chance.
    everything = " ".join(
        f"{r.getMessage()} {_fields(r)} {r.exc_text or ''}" for r in caplog.records
    )
    assert "s3cret" not in everything
    assert "4711" not in everything
    assert "79161234567" not in everything


_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({})))


def _fields(record: logging.LogRecord) -> dict[str, object]:
    """The fields a log call added (``extra``), without the LogRecord's own."""
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}


async def test_rejected_request_is_logged_with_its_reason(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await post_send(client, sms_body(destAddr="abc"))
    (line,) = [r.__dict__ for r in caplog.records if r.getMessage() == "rest_request"]
    assert (line["status"], line["code"], line["reason"]) == (406, 8, "INVALID_DESTINATION")
