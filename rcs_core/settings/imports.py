# ruff: noqa: N802 - the RPC methods carry the gRPC service's names
"""SettingsService.ImportNumberPlan: a number plan or the ported numbers, streamed in chunks
of parsed rows (the CLI parses the file: rcs_routing.number_plan), applied at the end of
the stream as one revision (rcs_core.settings.number_plan)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.settings import number_plan, writes
from rcs_core.settings.policy import SettingsBase
from rcs_core.settings.spec import Conn
from rcs_core.settings.writes import Ctx
from rcs_routing.number_plan import BadFileError, PlanRange, PortedNumber
from rcs_runtime.errors import RcsError, Reason

_KINDS = (ss.NUMBER_PLAN_IMPORT_KIND_NUMBER_PLAN, ss.NUMBER_PLAN_IMPORT_KIND_PORTED_NUMBERS)


def _refused(err: BadFileError) -> RcsError:
    """Every bad line, one a line after the count, for the CLI to print by file line."""
    lines = "\n".join(str(e) for e in err.errors)
    return RcsError(
        Reason.INVALID_REQUEST, f"{len(err.errors)} bad line(s); nothing imported\n{lines}"
    )


def _ranges(chunks: Iterable[ss.ImportNumberPlanRequest]) -> list[PlanRange]:
    out = [
        PlanRange(r.line_no, r.start, r.end, r.operator, r.region) for c in chunks for r in c.ranges
    ]
    if any(b.start <= a.end for a, b in itertools.pairwise(out)):
        raise RcsError(
            Reason.INVALID_REQUEST, "ranges must come sorted by start and disjoint, as parsed"
        )
    return out


class ImportSettings(SettingsBase):
    async def ImportNumberPlan(
        self, request_iterator: AsyncIterator[ss.ImportNumberPlanRequest], context: Ctx
    ) -> ss.ImportNumberPlanResponse:
        chunks = [chunk async for chunk in request_iterator]
        if not chunks or chunks[0].kind not in _KINDS:
            raise RcsError(
                Reason.INVALID_REQUEST,
                "the first chunk names the kind: NUMBER_PLAN_IMPORT_KIND_NUMBER_PLAN or"
                " NUMBER_PLAN_IMPORT_KIND_PORTED_NUMBERS",
                field="kind",
            )
        first = chunks[0]
        plan = first.kind == ss.NUMBER_PLAN_IMPORT_KIND_NUMBER_PLAN
        if any(c.ported if plan else c.ranges for c in chunks):
            raise RcsError(
                Reason.INVALID_REQUEST, "every chunk carries rows of the first's kind only"
            )
        ranges = _ranges(chunks) if plan else []
        ported = [PortedNumber(n.line_no, n.number, n.operator) for c in chunks for n in c.ported]

        async def work(conn: Conn) -> ss.ImportNumberPlanResponse:
            try:
                if plan:
                    p = await number_plan.apply_number_plan(conn, ranges, first.actor)
                    return ss.ImportNumberPlanResponse(
                        revision=p.revision,
                        row_count=p.ranges,
                        operator_count=p.operators,
                        region_count=p.regions,
                        direction_count=p.directions,
                        summary=str(p),
                    )
                n = await number_plan.apply_ported(conn, ported, first.actor)
            except BadFileError as err:
                raise _refused(err) from err
            return ss.ImportNumberPlanResponse(
                revision=n.revision,
                row_count=n.numbers,
                operator_count=n.operators,
                summary=str(n),
            )

        return await writes.mutate(self._pool, first, ss.ImportNumberPlanResponse, work)
