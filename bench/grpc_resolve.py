"""Load: batch resolve over gRPC (RoutingService.ResolveRoutes) on the issue-3-sized table.

Starts --processes routing servers on consecutive ports (as RCS_ROUTING_PROCESSES does),
in child processes holding the synthetic table of bench.routing_data (500,000 ranges,
10,000 rules; no database involved: only the service and its wire format are measured),
then sends --total lookups in batches of --batch with --concurrency calls in flight over
one channel listing every port (round robin, as RCS_ROUTING_TARGET="h:p,h:p+1"), and
prints lookups/s and per-call latency percentiles.

    .venv/bin/python -m bench.grpc_resolve --total 1000000 --concurrency 2 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import time

from bench.routing_data import build_table, queries
from bench.stats import report
from rcs.common.v1 import channel_pb2
from rcs.routing.v1 import routing_service_pb2 as rs
from rcs.routing.v1 import routing_service_pb2_grpc
from rcs_routing.servicer import RoutingServicer, TableHolder
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.grpc_server import GrpcServer
from tests.conftest import free_port


def _serve(port: int, ready: multiprocessing.synchronize.Event) -> None:
    async def main() -> None:
        holder = TableHolder(None)  # type: ignore[arg-type]  # never loads: table set below
        holder.table = build_table()
        gc.collect()
        gc.freeze()  # as TableHolder.load does
        server = GrpcServer(f"127.0.0.1:{port}")
        routing_service_pb2_grpc.add_RoutingServiceServicer_to_server(
            RoutingServicer(holder), server.server
        )
        await server.start()
        ready.set()
        await server.server.wait_for_termination()

    asyncio.run(main())


async def _load(target: str, total: int, batch: int, concurrency: int) -> None:
    channel = open_channel(target)
    stub = routing_service_pb2_grpc.RoutingServiceStub(channel)
    await channel.channel_ready()
    request = rs.ResolveRoutesRequest(
        queries=[
            rs.RouteQuery(destination=n, sender=s, partner=p, channel=channel_pb2.CHANNEL_SMS)
            for n, s, p, _ in queries(batch)
        ]
    )
    calls = total // batch
    latencies: list[float] = []
    next_call = 0

    async def worker() -> None:
        nonlocal next_call
        while next_call < calls:
            next_call += 1
            start = time.perf_counter()
            answer = await stub.ResolveRoutes(request, timeout=60)
            latencies.append(time.perf_counter() - start)
            assert len(answer.routes) == batch

    for _ in range(concurrency):  # warm up every server
        await stub.ResolveRoutes(request, timeout=60)
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    await channel.close()
    print(report("grpc resolve", calls * batch, elapsed, latencies, unit="lookups"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    port = free_port()
    servers = []
    for i in range(args.processes):
        ready = multiprocessing.Event()
        server = multiprocessing.Process(target=_serve, args=(port + i, ready), daemon=True)
        server.start()
        servers.append((server, ready))
    try:
        for _, ready in servers:
            if not ready.wait(300):
                raise SystemExit("a routing server did not start")
        target = ",".join(f"127.0.0.1:{port + i}" for i in range(args.processes))
        asyncio.run(_load(target, args.total, args.batch, args.concurrency))
    finally:
        for server, _ in servers:
            server.terminate()


if __name__ == "__main__":
    main()
