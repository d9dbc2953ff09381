from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from rcs.core.v1 import message_service_pb2, message_service_pb2_grpc
from rcs_cli.error_docs import render
from rcs_runtime.errors import (
    CATALOGUE,
    DELIVER_SM_LATER,
    DELIVER_SM_NEVER,
    RcsError,
    Reason,
)
from rcs_runtime.grpc_client import open_channel, refusal_text, worth_retrying
from rcs_runtime.grpc_errors import entry_for_grpc, status_code
from tests import doc_tables
from tests.support import start_server

ROOT = Path(__file__).resolve().parents[2]


def test_every_entry_has_every_protocol_face() -> None:
    assert set(CATALOGUE) == set(Reason), "every Reason has its catalogue entry"
    for reason, e in CATALOGUE.items():
        assert reason == e.reason
        assert reason.isupper()
        assert 400 <= e.http_status <= 599
        assert e.rest_code in (*range(1, 12), 100)
        assert 0 <= e.smpp_status <= 0xFFFFFFFF
        assert isinstance(status_code(e.grpc_code), grpc.StatusCode)
        assert e.summary
        # REST_BATCH v3: a documented key, and a field only with a key that names one.
        assert e.batch_key in doc_tables.BATCH_V3_REASON_KEYS, reason
        assert e.batch_field in ("", "to", "from", "text", "validity", "callbackUrl"), reason
        # The answer to an operator's deliver_sm follows retryable: redeliver (0x64) or not.
        assert e.deliver_sm == (DELIVER_SM_LATER if e.retryable else DELIVER_SM_NEVER), reason


def test_unknown_reason_fails_in_mypy_and_at_run_time() -> None:
    # mypy refuses the string (warn_unused_ignores: the ignore would fail if it accepted it).
    with pytest.raises(KeyError, match="add it"):
        RcsError("NOT_A_REASON")  # type: ignore[arg-type]


def test_transport_failures_map_to_service_unavailable() -> None:
    assert entry_for_grpc(grpc.StatusCode.UNAVAILABLE, None).rest_code == 1
    assert entry_for_grpc(grpc.StatusCode.UNKNOWN, "NOPE").reason == "INTERNAL"


def test_errors_doc_is_generated_from_the_catalogue() -> None:
    assert (ROOT / "docs" / "errors.md").read_text() == render(), (
        "docs/errors.md is stale: run `.venv/bin/rcs docs errors > docs/errors.md`"
    )


async def test_clients_read_retryable_and_the_wait_from_a_real_refusal() -> None:
    """worth_retrying / refusal_text (the gateways' pump, the connector, the CLI) decide from
    the ErrorInfo reason's catalogue entry, and pass on RetryInfo's wait."""

    class Refusing(message_service_pb2_grpc.MessageServiceServicer):
        reason = Reason.THROTTLED

        async def GetMessage(self, request: Any, context: Any) -> Any:
            raise RcsError(self.reason, "slow down", retry_after=2.5)

    servicer = Refusing()  # type: ignore[abstract]  # only GetMessage is called
    server = await start_server(
        lambda s: message_service_pb2_grpc.add_MessageServiceServicer_to_server(servicer, s)
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    try:
        stub = message_service_pb2_grpc.MessageServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetMessage(message_service_pb2.GetMessageRequest(), timeout=5)
        assert worth_retrying(refused.value)
        assert refusal_text(refused.value) == (
            "THROTTLED: slow down (retryable: try again in 2.5 s)"
        )
        servicer.reason = Reason.INVALID_REQUEST
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetMessage(message_service_pb2.GetMessageRequest(), timeout=5)
        assert not worth_retrying(refused.value)
        assert refusal_text(refused.value).endswith("(not retryable: change the request)")
    finally:
        await channel.close()
        await server.stop(0)
