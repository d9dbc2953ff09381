"""Full number-plan import (parse, stream to core's ImportNumberPlan over gRPC, replace in
PostgreSQL) of a synthetic, registry-sized DEF file: 100 codes × 1000 ranges = 100,000
lines in the published format. Target: under 5 s.

Run with `--benchmark-enable`; a plain test run imports a 5,000-line file once instead."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_core.settings.servicer import SettingsServicer
from rcs_routing.number_plan import parse_number_plan
from rcs_routing.number_plan_import import number_plan_chunks
from rcs_routing.storage import load_table
from rcs_runtime.db import open_pool
from rcs_runtime.grpc_client import open_channel
from tests.support import start_server

pytestmark = pytest.mark.integration

OPERATORS = [f'ООО "Синтетика-{i}"' for i in range(8)]
REGIONS = [f"Синтетический регион № {i}" for i in range(85)]


def write_registry(path: Path, codes: int, per_code: int) -> int:
    """A DEF file like the published one (quoted fields, UTF-8 with BOM, CRLF)."""
    step = 10**7 // per_code
    lines = ["АВС/ DEF;От;До;Емкость;Оператор;Регион"]
    for c in range(codes):
        code = 900 + c
        for k in range(per_code):
            lo, hi = k * step, k * step + step - 1
            operator = OPERATORS[(c + k) % len(OPERATORS)].replace('"', '""')
            region = REGIONS[(c * 7 + k // 100) % len(REGIONS)]
            lines.append(f'"{code}";"{lo:07d}";"{hi:07d}";"{step}";"{operator}";"{region}"')
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return len(lines) - 1


def test_full_registry_import(benchmark: Any, database_url: str, tmp_path: Path) -> None:
    codes = 10 if benchmark.disabled else 100
    path = tmp_path / "DEF-9xx.csv"
    lines = write_registry(path, codes, 500 if benchmark.disabled else 1000)

    async def run() -> str:
        pool = await open_pool(database_url, min_size=1, max_size=2)
        server = await start_server(
            lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
                SettingsServicer(pool), s
            )
        )
        channel = open_channel(f"127.0.0.1:{server.port}")
        try:
            stub: Any = settings_service_pb2_grpc.SettingsServiceStub(channel)
            chunks = number_plan_chunks(path.read_bytes(), ss.Actor(login="bench"))
            return str((await stub.ImportNumberPlan(iter(chunks), timeout=120)).summary)
        finally:
            await channel.close()
            await server.stop(0)
            await pool.close()

    summary = benchmark.pedantic(lambda: asyncio.run(run()), rounds=3, warmup_rounds=1)
    assert summary.startswith(f"imported {lines} ranges of 8 operators")

    async def table_size() -> tuple[int, str]:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            table = await load_table(conn)
        return table.revision, table.resolve("79000000001", "S").operator

    revision, operator = asyncio.run(table_size())
    assert operator == OPERATORS[0]
    started = time.perf_counter()
    parse_number_plan(path.read_bytes())
    benchmark.extra_info["lines"] = lines
    benchmark.extra_info["parse_seconds"] = round(time.perf_counter() - started, 3)
    benchmark.extra_info["revision_after"] = revision
