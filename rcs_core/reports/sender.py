"""The HTTP report sender: status callbacks and MO to partners' URLs, at least once.

A sender loop leases due HTTP reports (HTTP v5, REST v6, REST_BATCH v3; any partner) from
the outbox and sends each in the format of report_formats.py: at most ``concurrency``
requests at once, ``per_partner`` of them to one partner, and as many again leased ahead,
each sent the moment a slot of its partner frees (no round trip to the database between
one callback and the next). A request that ends also wakes the lease loop at once.

The answer settles a report: 2xx → delivered (removed); any other status (redirects are
not followed), a timeout or a connection error → failed with that text, retried after the
outbox's backoff until the report's max age. Rapporto retries 400/500
(http_status.rst) and REST_BATCH 500 five times a minute apart; we retry every failure
with backoff instead, which covers both.

Outcomes are settled in groups as they come, through an ``rcs_runtime.batcher.Batcher``
(one settlement at a time; what arrives meanwhile goes in the next), so a slow partner does
not hold up the others' settlements. A sender that is cancelled (shutdown) settles what it
knows and releases the reports still in flight, due again at once for the next sender; one
that dies holds its reports until their lease (timeout + a margin) ends. Either way a
report may be sent twice, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import defaultdict, deque
from dataclasses import dataclass

import aiohttp
import psycopg
import yarl
from prometheus_client import Counter, Histogram
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from rcs_core.config import CoreSettings
from rcs_core.inbound.reply import InboundReplier
from rcs_core.reports import formats as report_formats
from rcs_core.reports import store as reports
from rcs_core.reports.desk import ReportDesk, format_name
from rcs_core.reports.formats import HTTP_FORMATS, JSON_CONTENT_TYPE
from rcs_core.reports.store import LeasedReport, PartnerRoom
from rcs_runtime.batcher import Batcher

log = logging.getLogger(__name__)
REQUESTS = Counter(
    "rcs_report_requests_total",
    "HTTP report requests, by format and outcome",
    ["format", "outcome"],
)
LATENCY = Histogram(
    "rcs_report_request_seconds",
    "Time from an HTTP report's request to its answer (or failure), by format",
    ["format"],
)
USER_AGENT = "RCS-reports/1"
MAX_ANSWER_BYTES = 64 * 1024  # read for keep-alive; an HTTP v5 MO answer's text is a reply
RETRY_AFTER_ERROR_SECONDS = 1.0
SETTLE_BATCH = 1000  # outcomes per settlement (one call, plus one per distinct error)


@dataclass(frozen=True, slots=True)
class SenderSettings:
    concurrency: int = 64
    # Requests in flight to one partner at most (of ``concurrency``): a partner whose
    # server is slow or hangs holds no more slots than this, and the others go on.
    per_partner: int = 16
    timeout_seconds: float = 10.0
    wait_seconds: float = 5.0  # a lease waits this long for a report to become due
    lease_margin_seconds: float = 30.0  # beyond the timeout, for settling
    time_zone: dt.tzinfo = dt.UTC
    installation_id: int = 0  # for the ids of replies to MO

    @classmethod
    def of(cls, s: CoreSettings) -> SenderSettings:
        return cls(
            concurrency=s.report_sender_concurrency,
            per_partner=s.report_sender_per_partner,
            timeout_seconds=s.report_sender_timeout_seconds,
            time_zone=s.report_zone(),
            installation_id=s.installation_id,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    report_id: int
    result: str  # delivered | failed | released
    error: str = ""


class ReportSender:
    def __init__(
        self, desk: ReportDesk, pool: AsyncConnectionPool, settings: SenderSettings
    ) -> None:
        self._desk = desk
        self._pool = pool
        self._s = settings
        self._replier = InboundReplier(pool, settings.installation_id)
        self._busy = 0
        self._per_partner = min(settings.per_partner, settings.concurrency)
        self._in_flight: defaultdict[int, int] = defaultdict(int)  # partner id → requests
        # Leased ahead, up to a partner's share again: sent the moment one of its requests
        # ends, without waiting for a lease's round trip to the database.
        self._waiting: defaultdict[int, deque[tuple[LeasedReport, str]]] = defaultdict(deque)
        self._http: aiohttp.ClientSession | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._freed = asyncio.Event()
        self._settlements: Batcher[None, Outcome, None] = Batcher(
            self._settle, max_size=SETTLE_BATCH, max_in_flight=1, name="report-settle"
        )
        self._stopping = False

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self._s.timeout_seconds)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._s.concurrency),
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
        ) as http:
            self._http = http
            try:
                async with asyncio.TaskGroup() as tg:
                    self._tg = tg
                    await self._lease_loop()
            finally:
                # Cancelled: the send tasks recorded "released", and so are the reports
                # leased ahead; settle everything known.
                self._tg = None
                for queue in self._waiting.values():
                    for r, _ in queue:
                        self._settled(Outcome(r.id, "released"))
                self._waiting.clear()
                self._stopping = True
                await self._settlements.close()

    async def _lease_loop(self) -> None:
        # A report leased ahead may wait for one request's timeout before its own starts.
        lease_for = dt.timedelta(seconds=2 * self._s.timeout_seconds + self._s.lease_margin_seconds)
        while True:
            self._freed.clear()  # before looking: a request that ends meanwhile wakes us
            held = dict(self._in_flight)  # per partner: in flight and leased ahead
            for partner_id, queue in self._waiting.items():
                held[partner_id] = held.get(partner_id, 0) + len(queue)
            free = 2 * self._s.concurrency - self._busy - sum(map(len, self._waiting.values()))
            if free <= 0:
                await self._freed.wait()
                continue
            try:
                # A partner's reports up to its room only; a request that ends makes room
                # at once (the lease returns and is asked again with the new room).
                leased = await self._desk.lease(
                    formats=HTTP_FORMATS,
                    partner_id=None,
                    limit=free,
                    lease_for=lease_for,
                    wait=dt.timedelta(seconds=self._s.wait_seconds),
                    room=PartnerRoom(2 * self._per_partner, held),
                    wake=self._freed if self._in_flight else None,
                )
            except (psycopg.Error, PoolTimeout) as err:
                log.warning("report_lease_failed", extra={"error": str(err)})
                await asyncio.sleep(RETRY_AFTER_ERROR_SECONDS)
                continue
            try:
                logins = await self._logins(leased)
            except BaseException as err:
                # Leased but not sent (database away, or stopping): due again at once.
                for r in leased:
                    self._settled(Outcome(r.id, "released"))
                if not isinstance(err, psycopg.Error | PoolTimeout):
                    raise
                log.warning("report_lease_failed", extra={"error": str(err)})
                await asyncio.sleep(RETRY_AFTER_ERROR_SECONDS)
                continue
            for report in leased:
                self._waiting[report.partner_id].append((report, logins.get(report.partner_id, "")))
            self._start_waiting()

    def _start_waiting(self) -> None:
        """Start what was leased ahead, as far as the free slots and each partner's share
        allow (after a lease, and whenever a request ends)."""
        if self._tg is None or self._http is None:
            return
        for partner_id in list(self._waiting):
            queue = self._waiting[partner_id]
            while (
                queue
                and self._busy < self._s.concurrency
                and self._in_flight.get(partner_id, 0) < self._per_partner
            ):
                report, login = queue[0]
                send = self._send(self._http, report, login)
                try:
                    self._tg.create_task(send)
                except RuntimeError:  # the group is stopping: released with the rest
                    send.close()
                    return
                queue.popleft()
                self._busy += 1
                self._in_flight[partner_id] += 1
            if not queue:
                del self._waiting[partner_id]

    async def _logins(self, leased: list[LeasedReport]) -> dict[int, str]:
        wanted = [r.partner_id for r in leased if report_formats.needs_login(r)]
        if not wanted:
            return {}
        async with self._pool.connection() as conn:
            return await reports.logins(conn, wanted)

    async def _send(self, http: aiohttp.ClientSession, report: LeasedReport, login: str) -> None:
        try:
            outcome = await self._attempt(http, report, login)
        except asyncio.CancelledError:
            self._settled(Outcome(report.id, "released"))
            raise
        except Exception as err:  # one bad report must not stop the sender
            log.exception("report_send_crashed", extra={"report_id": report.id})
            outcome = Outcome(report.id, "failed", f"internal error: {type(err).__name__}")
        finally:
            self._busy -= 1
            self._in_flight[report.partner_id] -= 1
            if not self._in_flight[report.partner_id]:
                del self._in_flight[report.partner_id]
            self._freed.set()
        self._settled(outcome)
        self._start_waiting()  # the freed slot goes to a report leased ahead, if any

    async def _attempt(
        self, http: aiohttp.ClientSession, report: LeasedReport, login: str
    ) -> Outcome:
        fmt = format_name(report.format)
        try:
            out = report_formats.request_of(report, self._s.time_zone, login)
        except (ValueError, KeyError, TypeError) as err:
            return self._failed(report, fmt, "unformattable", f"cannot make the request: {err}")
        headers = {"Content-Type": JSON_CONTENT_TYPE} if out.body else {}
        # An MO route may give its partner less time (http_mo.rst); never more than the
        # sender's, which the lease is sized for.
        seconds = self._s.timeout_seconds
        own = int(report.body.get("timeout_seconds") or 0)
        if report.kind == reports.KIND_INBOUND and 0 < own < seconds:
            seconds = own
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with http.request(
                out.method,
                yarl.URL(out.url, encoded=True),  # the query is encoded as the format wants
                data=out.body or None,
                headers=headers,
                allow_redirects=False,  # a report goes where the partner said, or fails
                timeout=aiohttp.ClientTimeout(total=seconds),
            ) as answer:
                status = answer.status
                charset = answer.charset
                body = b""
                # The status decided; a body that fails only keeps the connection from reuse.
                with contextlib.suppress(TimeoutError, aiohttp.ClientError):
                    body = await answer.content.read(MAX_ANSWER_BYTES)
        except TimeoutError:
            await self._tell_unavailable(report, login)
            return self._failed(report, fmt, "timeout", f"timeout after {seconds:g} s")
        except (aiohttp.ClientError, ValueError) as err:  # ValueError: e.g. a bad host
            await self._tell_unavailable(report, login)
            return self._failed(report, fmt, "connection_error", f"connection failed: {err}")
        finally:
            LATENCY.labels(fmt).observe(loop.time() - started)
        if 200 <= status < 300:
            if status == 200 and report_formats.is_v5_inbound(report):
                replies = report_formats.inbound_replies(body, charset)
                if replies:
                    try:
                        await self._replier.reply(report, login, replies)
                    except (psycopg.Error, PoolTimeout) as err:  # asked again, replies kept once
                        return self._failed(report, fmt, "reply_not_stored", str(err))
            REQUESTS.labels(fmt, "delivered").inc()
            return Outcome(report.id, "delivered")
        await self._tell_unavailable(report, login)
        return self._failed(report, fmt, "http_error", f"HTTP {status}")

    async def _tell_unavailable(self, report: LeasedReport, login: str) -> None:
        """An MO the partner's server did not take: its route's "service unavailable" text
        to the subscriber (http_mo.rst), once per MO however often it is retried (the
        reply's client_ref is made from the MO's id)."""
        text = report.body.get("unavailable_text") if report.kind == reports.KIND_INBOUND else ""
        if not text:
            return
        try:
            await self._replier.reply(report, login, [str(text)], tag="unavailable")
        except (psycopg.Error, PoolTimeout) as err:  # tried again at the next failure
            log.warning("inbound_unavailable_not_stored", extra={"error": str(err)})

    def _failed(self, report: LeasedReport, fmt: str, outcome: str, error: str) -> Outcome:
        REQUESTS.labels(fmt, outcome).inc()
        log.info(
            "report_failed",
            extra={
                "report_id": report.id,
                "partner_id": report.partner_id,
                "format": fmt,
                "attempts": report.attempts,
                "error": error,
            },
        )
        return Outcome(report.id, "failed", error)

    def _settled(self, outcome: Outcome) -> None:
        """Hand an outcome to the settlements; the sender does not wait for it."""
        self._settlements.submit(None, outcome)

    async def _settle(self, _: None, outcomes: list[Outcome]) -> list[None]:
        """Settle one batch: one call for the delivered and released, one per distinct
        error. While core's database is away it tries again every second, and what arrives
        meanwhile waits for the next batch; once the sender stops it gives up (the leases
        run out and the reports come again). Settling twice is harmless."""
        by_error: defaultdict[str, list[int]] = defaultdict(list)
        for o in outcomes:
            if o.result == "failed":
                by_error[o.error].append(o.report_id)
        while True:
            try:
                await self._desk.settle(
                    delivered=[o.report_id for o in outcomes if o.result == "delivered"],
                    released=[o.report_id for o in outcomes if o.result == "released"],
                )
                for error, ids in by_error.items():
                    await self._desk.settle(failed=ids, error=error)
            except (psycopg.Error, PoolTimeout) as err:
                log.warning(
                    "report_settle_failed", extra={"count": len(outcomes), "error": str(err)}
                )
                if not self._stopping:
                    await asyncio.sleep(RETRY_AFTER_ERROR_SECONDS)
                    continue
            return [None] * len(outcomes)
