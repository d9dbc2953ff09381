"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from rcs.core.v1 import settings_service_pb2_grpc
from rcs_core.settings.servicer import SettingsServicer
from tests.support import start_server


@pytest.fixture
async def core_port(pool: Any) -> AsyncIterator[int]:
    """The port of a real core SettingsService (gRPC) on this test's database."""
    server = await start_server(
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        )
    )
    yield server.port
    await server.stop(0)
