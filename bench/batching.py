"""Cost of the micro-batchers themselves, in CPU per item: the gateways' SubmitCoalescer
and the connector's ReceiptSink, driven by --callers concurrent callers against an
in-process stub that answers every call after one loop turn (no gRPC, no database: only
the batching is measured). CPU time, not wall time, so that other load on the box matters
less; each figure is the minimum and median over --rounds.

With --against DIR (another checkout, e.g. of an older main) its two modules run in the
same process, in alternating rounds with this tree's: a before / after on equal terms.

    .venv/bin/python -m bench.batching [--against /tmp/rcs-main]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import prometheus_client

from gateways import coalescer
from rcs.core.v1 import message_service_pb2 as ms
from rcs_connectors import receipt_sink


class _Core:
    """Answers SubmitMessages and RecordReceipts after one loop turn (as a reply would)."""

    async def SubmitMessages(  # noqa: N802 (gRPC)
        self,
        request: ms.SubmitMessagesRequest,
        timeout: float,  # noqa: ASYNC109 (gRPC)
    ) -> ms.SubmitMessagesResponse:
        await asyncio.sleep(0)
        return ms.SubmitMessagesResponse(
            results=[ms.SubmitResult(message_id="1") for _ in request.messages]
        )

    async def RecordReceipts(  # noqa: N802 (gRPC)
        self,
        request: ms.RecordReceiptsRequest,
        timeout: float,  # noqa: ASYNC109 (gRPC)
    ) -> ms.RecordReceiptsResponse:
        await asyncio.sleep(0)
        return ms.RecordReceiptsResponse()


def _load(tree: Path, module: str) -> ModuleType:
    """``module`` from another checkout, under a name of its own."""
    name = f"against_{module.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, tree / (module.replace(".", "/") + ".py"))
    if spec is None or spec.loader is None:
        sys.exit(f"{module} not found under {tree}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


async def _cpu_per_item(one: Callable[[], Awaitable[object]], total: int, callers: int) -> float:
    async def caller(n: int) -> None:
        for _ in range(n):
            await one()

    cpu = time.process_time()
    await asyncio.gather(*(caller(total // callers) for _ in range(callers)))
    return (time.process_time() - cpu) / (total // callers * callers) * 1e6


async def _main(args: argparse.Namespace) -> None:
    trees: dict[str, tuple[Any, Any]] = {
        "this tree": (coalescer.SubmitCoalescer, receipt_sink.ReceiptSink)
    }
    if args.against:
        # The other tree's modules declare the same metrics: let them in unregistered.
        registry = prometheus_client.REGISTRY
        register = registry.register
        registry.register = lambda collector: None  # type: ignore[method-assign]
        try:
            trees[str(args.against)] = (
                _load(args.against, "gateways.coalescer").SubmitCoalescer,
                _load(args.against, "rcs_connectors.receipt_sink").ReceiptSink,
            )
        finally:
            registry.register = register  # type: ignore[method-assign]
    submission = ms.MessageSubmission(destination="79161234567")
    receipt = ms.Receipt(interface_id="smsc-sim", operator_message_id="abc")
    figures: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for tree, (coalescer_class, sink_class) in trees.items():
            co = coalescer_class(_Core())
            figures.setdefault(f"SubmitCoalescer, {tree}", []).append(
                await _cpu_per_item(
                    functools.partial(co.submit, "p", submission), args.total, args.callers
                )
            )
            sink = sink_class(_Core(), batch=50, flush_seconds=0.001)
            figures.setdefault(f"ReceiptSink, {tree}", []).append(
                await _cpu_per_item(
                    functools.partial(sink.record, receipt), args.total, args.callers
                )
            )
    for name, values in sorted(figures.items()):
        print(
            f"{name}: µs CPU per item min {min(values):.2f}, median "
            f"{statistics.median(values):.2f} over {len(values)} rounds of {args.total}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=40_000, help="items per round")
    parser.add_argument("--callers", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
