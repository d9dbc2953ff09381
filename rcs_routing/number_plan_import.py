"""A number-plan or ported-numbers file as the chunks of core's streamed
SettingsService.ImportNumberPlan: parsing only (rcs_routing.number_plan), all of it before
the first chunk goes out, so that a bad file is refused with every bad line and core gets
nothing. Core applies the rows as one settings revision (rcs_core.settings.number_plan)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_routing.number_plan import parse_number_plan, parse_ported

T = TypeVar("T")
CHUNK_ROWS = 10_000  # ~0.3 MB a chunk: far below gRPC's 4 MB message limit


def number_plan_chunks(
    data: bytes, actor: ss.Actor, request_id: str = ""
) -> list[ss.ImportNumberPlanRequest]:
    """The parsed plan in chunks; raises BadFileError naming every bad line."""
    rows = [
        ss.PlanRangeRow(
            line_no=r.line_no, start=r.start, end=r.end, operator=r.operator, region=r.region
        )
        for r in parse_number_plan(data)
    ]
    chunks = [ss.ImportNumberPlanRequest(ranges=batch) for batch in _batches(rows)]
    return _headed(chunks, ss.NUMBER_PLAN_IMPORT_KIND_NUMBER_PLAN, actor, request_id)


def ported_chunks(
    data: bytes, actor: ss.Actor, request_id: str = ""
) -> list[ss.ImportNumberPlanRequest]:
    """The parsed ported numbers in chunks; raises BadFileError naming every bad line."""
    rows = [
        ss.PortedNumberRow(line_no=n.line_no, number=n.number, operator=n.operator)
        for n in parse_ported(data)
    ]
    chunks = [ss.ImportNumberPlanRequest(ported=batch) for batch in _batches(rows)]
    return _headed(chunks, ss.NUMBER_PLAN_IMPORT_KIND_PORTED_NUMBERS, actor, request_id)


def _batches(rows: Sequence[T]) -> Iterator[Sequence[T]]:
    return (rows[i : i + CHUNK_ROWS] for i in range(0, len(rows), CHUNK_ROWS))


def _headed(
    chunks: list[ss.ImportNumberPlanRequest],
    kind: ss.NumberPlanImportKind.ValueType,
    actor: ss.Actor,
    request_id: str,
) -> list[ss.ImportNumberPlanRequest]:
    """The first chunk (an empty one for an empty file) says what and who."""
    chunks = chunks or [ss.ImportNumberPlanRequest()]
    chunks[0].kind = kind
    chunks[0].actor.CopyFrom(actor)
    chunks[0].request_id = request_id
    return chunks
