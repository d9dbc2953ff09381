"""The fan-out sender: claims due deliveries from PostgreSQL, sends each through its
install's push service, and stores what the service answered.

Deliveries are rows, so a push accepted from core is never lost: a sender that dies
mid-send leaves its claimed rows to be claimed again when their lease ends (a device may
then get the push twice; the SDK drops a pushId it has shown). HMS takes one request for
every Huawei install of a push. A service that answers 429 or 5xx with Retry-After is
paused, per application, for that long: its queued deliveries wait instead of hammering it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psycopg
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from rcs.common.v1 import message_pb2
from rcs_rpns.model import PROVIDER_OF, Code, Provider
from rcs_rpns.providers import payload
from rcs_rpns.providers.apns import ApnsClient
from rcs_rpns.providers.base import Kind, Outcome
from rcs_rpns.providers.fcm import FcmClient
from rcs_rpns.providers.hms import MAX_TOKENS, HmsPushClient
from rcs_rpns.providers.rustore import RustoreClient
from rcs_rpns.storage import apps, pushes
from rcs_rpns.storage.pushes import Claimed, Results

log = logging.getLogger(__name__)
SENDS = Counter(
    "rcs_rpns_sends_total", "Deliveries handed to a push service", ["provider", "outcome"]
)
_APP_CACHE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Clients:
    apns: ApnsClient
    fcm: FcmClient
    hms: HmsPushClient
    rustore: RustoreClient


@dataclass(frozen=True, slots=True)
class Policy:
    batch: int
    concurrency: int
    rounds: int  # claimed rounds in flight at once
    lease_seconds: float
    poll_seconds: float
    retry_base: float
    retry_max: float
    max_attempts: int


def backoff(attempts: int, base: float, cap: float) -> float:
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


class Sender:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        clients: Clients,
        policy: Policy,
        *,
        on_final: Callable[[], None] = lambda: None,
    ) -> None:
        self._pool = pool
        self._clients = clients
        self._p = policy
        self._on_final = on_final  # a push became UNDELIVERED: the reporter has work
        self._wake = asyncio.Event()
        self._apps: dict[int, tuple[float, apps.App | None]] = {}
        self._paused: dict[tuple[int, Provider], float] = {}  # until (monotonic)
        self._slots = asyncio.Semaphore(policy.concurrency)
        self._counters: dict[tuple[Provider, Kind], Counter] = {}

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """``rounds`` loops of claim, send, record: the next round is claimed while another
        waits for its slowest request. Claims skip locked rows and lease what they take,
        so the loops (and other processes') never take the same delivery."""
        async with asyncio.TaskGroup() as tg:
            for _ in range(self._p.rounds):
                tg.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            try:
                busy = await self.send_once()
            except (OSError, psycopg.Error, PoolTimeout):  # PostgreSQL restarting, too
                log.exception("rpns_send_round_failed")
                busy = 0
            if busy < self._p.batch:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._p.poll_seconds)

    async def send_once(self) -> int:
        """One round: claim, send, record. Returns how many deliveries it claimed."""
        async with self._pool.connection() as conn:
            claimed = await pushes.claim(conn, limit=self._p.batch, lease=self._p.lease_seconds)
        if not claimed:
            return 0
        # Each application once per round, before the sends: looked up from every send,
        # an expired cache entry had hundreds of concurrent sends each query it.
        apps_of = {a: await self._app(a) for a in {c.app_id for c in claimed}}
        results = Results([], [], [], [])
        jobs: list[Awaitable[None]] = []
        hms_groups: dict[tuple[int, int], list[Claimed]] = defaultdict(list)
        now = dt.datetime.now(dt.UTC)
        notes: dict[int, payload.Notification] = {}  # a push is parsed once per round
        for c in claimed:
            provider = PROVIDER_OF[c.platform]
            if c.valid_until <= now:
                results.failed.append((c.push_id, c.install_id, 7, "expired_before_sent"))
                continue
            paused = self._paused.get((c.app_id, provider), 0.0) - time.monotonic()
            if paused > 0:
                results.retry.append((c.push_id, c.install_id, paused, "provider_paused"))
                continue
            if c.push_id not in notes:
                notes[c.push_id] = self._notification(c, now)
            if provider is Provider.HMS:
                hms_groups[(c.app_id, c.push_id)].append(c)
            else:
                app = apps_of[c.app_id]
                jobs.append(self._send_one(provider, c, app, notes[c.push_id], results))
        for (app_id, push_id), group in hms_groups.items():
            for start in range(0, len(group), MAX_TOKENS):
                chunk = group[start : start + MAX_TOKENS]
                jobs.append(self._send_hms(chunk, apps_of[app_id], notes[push_id], results))
        await asyncio.gather(*jobs)
        async with self._pool.connection() as conn, conn.transaction():
            undelivered = await pushes.record(conn, results)
        if undelivered:
            self._on_final()
        return len(claimed)

    async def _app(self, app_id: int) -> apps.App | None:
        cached = self._apps.get(app_id)
        if cached and time.monotonic() - cached[0] < _APP_CACHE_SECONDS:
            return cached[1]
        async with self._pool.connection() as conn:
            app = await apps.get(conn, app_id)
        self._apps[app_id] = (time.monotonic(), app)
        return app

    @staticmethod
    def _notification(c: Claimed, now: dt.datetime) -> payload.Notification:
        content = message_pb2.PushContent.FromString(c.content)
        left = int((c.valid_until - now).total_seconds())
        return payload.Notification(
            push_id=str(c.push_id),
            content=content,
            ttl_seconds=max(1, left),
            expires_at=int(c.valid_until.timestamp()),
        )

    async def _send_one(
        self,
        provider: Provider,
        c: Claimed,
        app: apps.App | None,
        n: payload.Notification,
        results: Results,
    ) -> None:
        creds = app.credentials if app else None
        async with self._slots:
            if provider is Provider.APNS and creds and creds.apns:
                outcome = await self._clients.apns.send(creds.apns, c.token, n)
            elif provider is Provider.FCM and creds and creds.fcm:
                outcome = await self._clients.fcm.send(creds.fcm, c.token, n)
            elif provider is Provider.RUSTORE and creds and creds.rustore:
                outcome = await self._clients.rustore.send(creds.rustore, c.token, n)
            else:
                outcome = Outcome(Kind.FAILED, f"no_{provider.value.lower()}_credentials")
        self._settle(provider, c, outcome, results)

    async def _send_hms(
        self,
        group: list[Claimed],
        app: apps.App | None,
        n: payload.Notification,
        results: Results,
    ) -> None:
        creds = app.credentials.hms if app else None
        if creds is None:
            for c in group:
                self._settle(Provider.HMS, c, Outcome(Kind.FAILED, "no_hms_credentials"), results)
            return
        async with self._slots:
            by_token = await self._clients.hms.send(creds, [c.token for c in group], n)
        for c in group:
            self._settle(Provider.HMS, c, by_token[c.token], results)

    def _settle(self, provider: Provider, c: Claimed, o: Outcome, results: Results) -> None:
        counter = self._counters.get((provider, o.kind))
        if counter is None:  # labels() locks and hashes: once per pair, not per send
            counter = self._counters[(provider, o.kind)] = SENDS.labels(
                provider.value, o.kind.value
            )
        counter.inc()
        key = (c.push_id, c.install_id)
        if o.kind is Kind.SENT:
            results.sent.append(key)
        elif o.kind is Kind.INVALID_TOKEN:
            results.failed.append((*key, int(Code.NO_APPLICATION), o.detail))
            results.disable.append((c.install_id, o.detail))
            log.info("rpns_install_disabled", extra={"install": c.install_id, "why": o.detail})
        elif o.kind is Kind.RETRY:
            if o.retry_after is not None:
                until = time.monotonic() + o.retry_after
                paused = self._paused.get((c.app_id, provider), 0.0)
                self._paused[(c.app_id, provider)] = max(paused, until)
            delay = (
                o.retry_after
                if o.retry_after is not None
                else backoff(c.attempts, self._p.retry_base, self._p.retry_max)
            )
            too_late = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay) >= c.valid_until
            if c.attempts >= self._p.max_attempts or too_late:
                results.failed.append((*key, int(Code.PROVIDER_ERROR), o.detail))
            else:
                results.retry.append((*key, delay, o.detail))
        else:
            results.failed.append((*key, int(Code.PROVIDER_ERROR), o.detail))
