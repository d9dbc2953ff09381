"""Core's maintenance loop keeps its main pass going when a side step fails."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rcs_core.config import CoreSettings
from rcs_core.db import maintenance


async def test_a_failing_step_does_not_keep_the_main_pass_from_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    passes = asyncio.Event()

    async def broken(pool: Any) -> None:
        raise PermissionError("must be owner of table messages_p20261127")

    async def main_pass(pool: Any, s: CoreSettings, ids: Any) -> int:
        passes.set()
        return 0

    monkeypatch.setattr(maintenance, "observe_queue", broken)
    monkeypatch.setattr(maintenance, "_analyze_young", broken)
    monkeypatch.setattr(maintenance, "run_once", main_pass)
    settings = CoreSettings(database_url="postgresql://unused", maintenance_interval_seconds=0.01)
    loop = asyncio.create_task(maintenance.run_forever(None, settings))  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(passes.wait(), 5)
    finally:
        loop.cancel()
