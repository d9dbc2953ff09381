"""Delivery receipts, and subscribers' messages (MO), to a login's receiver and
transceiver sessions.

Core keeps every report in its outbox until someone says it was delivered (rcs_core
report_desk). While a login has at least one session here that receives, one pump per
login leases that login's SMPP reports from core, sends each as deliver_sm to one of the
sessions (round robin: any bound receiver of the login, whichever socket it is), and
settles them: deliver_sm_resp 0 → delivered; another command_status or no answer → failed
(core retries after a backoff); the session closed before an answer → released (due again
at once, for another session or a later bind). A report this process leased and never
settled (killed, core unreachable) comes back when its lease ends. So nothing is dropped on
reconnect, and a receipt may arrive twice: at least once, as SMPP receipts are anyway.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from dataclasses import dataclass, field

import grpc
from google.protobuf import duration_pb2
from prometheus_client import Counter

from gateways.smpp.mapping import inbound_of, receipt_of
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import report_lease_service_pb2_grpc
from rcs_runtime.grpc_client import catalogue_entry, retry_delay, worth_retrying
from rcs_smpp.constants import CommandStatus
from rcs_smpp.errors import SmppError
from rcs_smpp.session import ResponseTimeoutError, SessionClosedError, SmppSession
from rcs_smpp.tlv import standard_only

log = logging.getLogger(__name__)
DELIVERIES = Counter(
    "rcs_smpp_receipts_total", "deliver_sm receipts to ESMEs, by outcome", ["outcome"]
)
RETRY_AFTER_ERROR_SECONDS = 1.0


@dataclass
class _Login:
    sessions: list[SmppSession] = field(default_factory=list)
    turn: int = 0
    task: asyncio.Task[None] | None = None
    holding: bool = False  # leased reports not settled yet
    # The login's setting (smpp_standard_tlvs_only) as of its latest bind here.
    standard_tlvs_only: bool = False

    def next_session(self) -> SmppSession | None:
        live = [s for s in self.sessions if not s.closed]
        if not live:
            return None
        self.turn = (self.turn + 1) % len(live)
        return live[self.turn]


@dataclass(frozen=True, slots=True)
class PumpSettings:
    batch: int = 100
    wait_seconds: float = 5.0
    lease_seconds: float = 60.0
    rpc_timeout_seconds: float = 10.0


class ReportPumps:
    """One pump per login with receiving sessions in this gateway process."""

    def __init__(
        self,
        leases: report_lease_service_pb2_grpc.ReportLeaseServiceAsyncStub,
        settings: PumpSettings,
    ) -> None:
        self._leases = leases
        self._s = settings
        self._logins: dict[str, _Login] = {}
        self._references = itertools.count(random.randrange(256))

    def add(self, login: str, session: SmppSession, *, standard_tlvs_only: bool = False) -> None:
        """A session of ``login`` that receives was bound: start its login's pump.
        ``standard_tlvs_only``: its deliver_sm carry no vendor TLVs (the login's setting)."""
        state = self._logins.setdefault(login, _Login())
        state.sessions.append(session)
        state.standard_tlvs_only = standard_tlvs_only
        if state.task is None or state.task.done():
            state.task = asyncio.create_task(self._pump(login, state), name=f"receipts-{login}")

    def remove(self, login: str, session: SmppSession) -> None:
        """The session closed; the pump stops by itself when its login has none left."""
        state = self._logins.get(login)
        if state is not None and session in state.sessions:
            state.sessions.remove(session)

    async def close(self, grace_seconds: float = 0.0) -> None:
        """Stop every pump. With its sessions closed, a pump releases what it holds and ends
        by itself within ``grace_seconds`` (the rest is cancelled and comes back to another
        gateway when its lease ends)."""
        tasks = [s.task for s in self._logins.values() if s.task is not None]
        holding = [s.task for s in self._logins.values() if s.task is not None and s.holding]
        if holding and grace_seconds > 0:
            await asyncio.wait(holding, timeout=grace_seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _pump(self, login: str, state: _Login) -> None:
        while any(not s.closed for s in state.sessions):
            try:
                answer = await self._leases.LeaseReports(
                    ms.LeaseReportsRequest(
                        partner=login,
                        format=ms.REPORT_FORMAT_SMPP,
                        max_reports=self._s.batch,
                        wait=_duration(self._s.wait_seconds),
                        lease=_duration(self._s.lease_seconds),
                    ),
                    timeout=self._s.wait_seconds + self._s.rpc_timeout_seconds,
                )
            except grpc.aio.AioRpcError as err:
                if not worth_retrying(err):
                    # Leasing again cannot help (e.g. the login is gone): this pump ends,
                    # and the login's next bind here starts another.
                    log.error(
                        "smpp_receipts_lease_refused",
                        extra={"login": login, "reason": catalogue_entry(err).reason},
                    )
                    return
                log.warning(
                    "smpp_receipts_lease_failed", extra={"login": login, "code": str(err.code())}
                )
                await asyncio.sleep(max(RETRY_AFTER_ERROR_SECONDS, retry_delay(err)))
                continue
            if not answer.reports:
                continue
            state.holding = True
            try:
                outcomes = await asyncio.gather(*(self._deliver(state, r) for r in answer.reports))
                await self._settle(login, list(answer.reports), outcomes)
            finally:
                state.holding = False
        if self._logins.get(login) is state and not state.sessions:
            del self._logins[login]

    async def _deliver(self, state: _Login, report: ms.Report) -> tuple[str, str]:
        """(outcome, error) of one deliver_sm: delivered, failed or released."""
        session = state.next_session()
        if session is None:
            return "released", ""
        try:
            if report.kind == ms.REPORT_KIND_INBOUND:
                # Every part on one session, in order; delivered once all are acknowledged.
                pdus = inbound_of(report, reference=next(self._references))
            else:
                # Rapporto: one deliver_sm per submit_sm. A message the ESME split itself
                # gets one per part that asked (all alike: same id, sub = whole message).
                pdus = [receipt_of(report) for _ in range(max(report.receipt_copies, 1))]
            for pdu in pdus:
                if state.standard_tlvs_only:
                    pdu.tlvs = standard_only(pdu.tlvs)
                response = await session.send_request(pdu)
                if response.command_status != CommandStatus.ESME_ROK:
                    return "failed", f"deliver_sm_resp 0x{response.command_status:08X}"
        except SessionClosedError:
            return "released", ""
        except ResponseTimeoutError:
            return "failed", "no deliver_sm_resp"
        except (SmppError, ValueError) as err:  # e.g. text that cannot be encoded: keep it
            return "failed", f"cannot send: {err}"
        return "delivered", ""

    async def _settle(
        self, login: str, reports: list[ms.Report], outcomes: list[tuple[str, str]]
    ) -> None:
        by: dict[str, list[int]] = {"delivered": [], "failed": [], "released": []}
        errors = []
        for report, (outcome, error) in zip(reports, outcomes, strict=True):
            by[outcome].append(report.report_id)
            DELIVERIES.labels(outcome).inc()
            if error:
                errors.append(error)
        request = ms.SettleReportsRequest(
            delivered=by["delivered"],
            failed=by["failed"],
            released=by["released"],
            error=errors[0] if errors else "",
        )
        try:
            await self._leases.SettleReports(request, timeout=self._s.rpc_timeout_seconds)
        except grpc.aio.AioRpcError as err:
            # The leases run out and the reports come again: a duplicate, never a loss.
            log.warning(
                "smpp_receipts_settle_failed", extra={"login": login, "code": str(err.code())}
            )
        if by["failed"]:
            log.info(
                "smpp_receipts_failed",
                extra={"login": login, "count": len(by["failed"]), "error": errors[0]},
            )


def _duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d
