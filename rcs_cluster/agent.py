"""The HA loop (Patroni's ``ha.py``, reduced to what RCS needs): every loop_wait seconds, or
at once when the watch sees a change, renew the lease, re-read the whole cluster, and act.

Invariants (docs/invariants.md):
- only the holder of the master key, on its own live lease, takes settings writes, and only
  until ``valid_until`` in its cluster_role row, which lapses before the lease can expire;
- a master that cannot renew fences itself (cluster_role standby) before the lease ends;
- a standby campaigns only once it has applied the revision the master published.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from contextlib import suppress

import grpc
from prometheus_client import Gauge

from rcs_cluster import view as v
from rcs_cluster.capture import CaptureSwitch
from rcs_cluster.dcs import Dcs, EtcdFailure
from rcs_cluster.peers_store import PeersStore
from rcs_cluster.role_store import DbFailure, RoleStore
from rcs_cluster.settings import ClusterSettings
from rcs_cluster.sync import SettingsPuller

log = logging.getLogger(__name__)

ROLE = Gauge("rcs_cluster_is_master", "1 while this installation is its cluster's master")
LEASE_LEFT = Gauge("rcs_cluster_lease_remaining_seconds", "Seconds left on the agent's etcd lease")
REVISION_LAG = Gauge(
    "rcs_cluster_settings_revision_lag",
    "Settings revisions the master published that this installation has not applied",
)
APPLIED = Gauge("rcs_cluster_settings_revision", "Settings revision this installation applied")


class StartupError(Exception):
    """The agent cannot start; the message says what to change."""


class Agent:
    def __init__(
        self,
        s: ClusterSettings,
        dcs: Dcs,
        roles: RoleStore,
        puller: SettingsPuller,
        capture: CaptureSwitch | None = None,
        *,
        peers: PeersStore,
    ) -> None:
        self.s = s
        self._capture = capture
        self.me = s.installation_id
        self._dcs = dcs
        self._roles = roles
        self._puller = puller
        self.role = v.STANDBY
        self.lease = 0
        self.last_renew = 0.0  # monotonic time the last successful keep-alive was sent
        self.term = 0
        self.applied = 0
        self.view = v.ClusterView()
        self._hold_off_until = 0.0
        self._registered: v.Registration | None = None
        self._wake = asyncio.Event()
        self._peers = peers
        self._peers_written: dict[int, str] | None = None

    # -- start ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Fence first (no settings writes until elected), then register this installation's
        id on a fresh lease; wait out a previous incarnation's lease (a crashed agent of this
        installation), refuse when a live agent holds the id."""
        await self._roles.be_standby(None, "", lock_wait=self.s.cluster_retry_timeout_seconds)
        self.applied = await self._roles.applied_revision()
        sent = time.monotonic()
        self.lease = await self._dcs.grant(self.s.cluster_ttl_seconds)
        self.last_renew = sent
        deadline = sent + self.s.cluster_ttl_seconds + self.s.cluster_retry_timeout_seconds
        while not await self._dcs.register(self._registration(), self.lease):
            if time.monotonic() > deadline:
                holder = (await self._dcs.read()).installations.get(self.me)
                await self._dcs.revoke(self.lease)
                raise StartupError(
                    f"installation {self.me} is already registered in cluster"
                    f" {self.s.cluster_name!r} by a live agent"
                    f" (core {holder.core if holder else '?'}): give this installation its own"
                    " RCS_INSTALLATION_ID, or stop the other agent"
                )
            log.info("installation_id_held_waiting", extra={"installation": self.me})
            await asyncio.sleep(0.5)
            sent = time.monotonic()
            if await self._dcs.renew(self.lease):
                self.last_renew = sent
        self._registered = self._registration()
        log.info(
            "cluster_agent_registered",
            extra={"cluster": self.s.cluster_name, "installation": self.me, "lease": self.lease},
        )

    # -- loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        watcher = asyncio.create_task(self._watch())
        listener = asyncio.create_task(self._listen())
        try:
            while True:
                await self.cycle()
                self._wake.clear()
                with suppress(TimeoutError):
                    async with asyncio.timeout(self.s.cluster_loop_wait_seconds):
                        await self._wake.wait()
        finally:
            for task in (watcher, listener):
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task

    async def stop(self) -> None:
        """Clean exit: fence, then give the master key and the registration back at once
        (revoking the lease deletes both) so that a standby need not wait for the TTL."""
        with suppress(*DbFailure):
            await self._step_to_standby(None, "")
        with suppress(*EtcdFailure):
            await self._dcs.revoke(self.lease)

    def wake(self) -> None:
        self._wake.set()

    async def _watch(self) -> None:
        """Wake the loop on any change under the prefix. After a watch error the loop's
        next turn re-reads everything anyway; the watch itself is re-created."""
        while True:
            try:
                async for _ in self._dcs.changes():
                    self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:  # any watch failure: re-read, re-watch
                log.warning("cluster_watch_failed", exc_info=True)
            self._wake.set()
            await asyncio.sleep(self.s.cluster_loop_wait_seconds)

    async def _listen(self) -> None:
        """Wake the loop when a settings revision commits here (the master publishes it at
        once instead of at its next turn)."""
        while True:
            try:
                async for _ in self._roles.revision_changes():
                    self._wake.set()
            except asyncio.CancelledError:
                raise
            except DbFailure:
                log.warning("settings_listen_failed", exc_info=True)
            await asyncio.sleep(self.s.cluster_loop_wait_seconds)

    async def cycle(self) -> None:
        try:
            await self._cycle()
        except EtcdFailure as exc:
            log.warning("etcd_unreachable", extra={"error": str(exc)[:200]})
            await self._fence_if_due()
        except DbFailure as exc:
            log.warning("database_unreachable", extra={"error": str(exc)[:200]})
        except grpc.aio.AioRpcError as exc:
            log.warning(
                "settings_sync_failed", extra={"code": exc.code().name, "error": exc.details()}
            )
        LEASE_LEFT.set(max(0.0, self.lease_remaining()))

    def lease_remaining(self) -> float:
        return self.last_renew + self.s.cluster_ttl_seconds - time.monotonic()

    def _valid_seconds(self) -> float:
        """How long the master may take settings writes from now: until retry_timeout before
        the lease could expire (counted from when the last keep-alive was sent)."""
        return max(0.0, self.lease_remaining() - self.s.cluster_retry_timeout_seconds)

    async def _cycle(self) -> None:
        sent = time.monotonic()
        if await self._dcs.renew(self.lease):
            self.last_renew = sent
        else:
            await self._lease_lost()
        view = await self._dcs.read()
        self.view = view
        self.applied = await self._roles.applied_revision()
        step = v.next_step(
            view,
            me=self.me,
            lease=self.lease,
            applied_revision=self.applied,
            held_off=time.monotonic() < self._hold_off_until,
        )
        if step is v.Step.HOLD_MASTER:
            await self._hold_master(view)
        elif step is v.Step.STEP_DOWN:
            log.info("master_stepping_down", extra={"installation": self.me})
            await self._step_to_standby(None, "", why="switchover")
            await self._dcs.release(self.me)
            self._hold_off_until = time.monotonic() + self.s.cluster_ttl_seconds
        elif step is v.Step.CAMPAIGN:
            await self._step_to_standby(None, "", why="no master key")
            term = await self._dcs.campaign(self.me, self.lease)
            if term:
                log.info("master_key_taken", extra={"installation": self.me, "term": term})
                self.view = dataclasses.replace(
                    view, master_id=self.me, master_lease=self.lease, master_term=term
                )
                await self._hold_master(self.view)  # at once: failover time is what counts
        elif step is v.Step.WAIT:
            await self._step_to_standby(None, "", why="no master key, waiting")
        else:
            await self._follow(view)
        REVISION_LAG.set(max(0, self.view.published_revision - self.applied))
        APPLIED.set(self.applied)
        ROLE.set(1 if self.role == v.MASTER else 0)
        registration = self._registration()
        if registration != self._registered:
            await self._dcs.update_registration(registration, self.lease)
            self._registered = registration
        await self._write_peers(view)  # after the role: failover time is what counts

    async def _hold_master(self, view: v.ClusterView) -> None:
        valid = self._valid_seconds()
        if self.role != v.MASTER or self.term != view.master_term:
            if self._capture is not None:
                await self._capture.to(v.MASTER)  # before the first settings write
            await self._roles.be_master(self.me, self.s.advertised_core, view.master_term, valid)
            self.role, self.term = v.MASTER, view.master_term
            log.info(
                "promoted_to_master",
                extra={"installation": self.me, "term": self.term, "revision": self.applied},
            )
        elif not await self._roles.extend(self.term, valid):
            # Someone rewrote the row under us (a manual edit): take it back with this term.
            await self._roles.be_master(self.me, self.s.advertised_core, self.term, valid)
        if self.applied != view.published_revision:
            await self._dcs.publish_revision(self.me, self.applied)
        if view.switchover is not None and view.switchover.master != self.me:
            await self._dcs.clear_switchover()  # the switchover that made us master is done

    async def _follow(self, view: v.ClusterView) -> None:
        master = view.master
        core = master.core if master else ""
        await self._step_to_standby(view.master_id, core, why="another master")
        if master is not None and self._puller.needs_pull(
            master.installation_id, self.applied, view.published_revision
        ):
            self.applied = await self._puller.pull(
                master.installation_id, core, self.applied, view.published_revision
            )

    async def _step_to_standby(
        self, master: int | None, master_core: str, *, why: str = ""
    ) -> None:
        if self.role == v.MASTER:
            log.warning(
                "demoted_to_standby",
                extra={
                    "installation": self.me,
                    "term": self.term,
                    "why": why,
                    "master_key": self.view.master_id,
                },
            )
        await self._roles.be_standby(
            master, master_core, lock_wait=self.s.cluster_retry_timeout_seconds
        )
        self.role = v.STANDBY
        if self._capture is not None:
            await self._capture.to(v.STANDBY)  # fenced first; before any settings pull

    async def _fence_if_due(self) -> None:
        """Cannot reach etcd: a master stays master while its lease surely lives, and fences
        itself once the next turn could come too late (Patroni: demote before the TTL)."""
        if self.role != v.MASTER:
            return
        margin = self.s.cluster_loop_wait_seconds + self.s.cluster_retry_timeout_seconds
        if self.lease_remaining() <= margin:
            log.warning("fencing_lease_unrenewed", extra={"installation": self.me})
            with suppress(*DbFailure):
                await self._step_to_standby(self.view.master_id, "", why="lease unrenewed")

    async def _lease_lost(self) -> None:
        """The lease expired (we were frozen or cut off past the TTL): fence, then come back
        as a standby on a new lease."""
        log.warning("lease_lost", extra={"installation": self.me, "lease": self.lease})
        await self._step_to_standby(None, "", why="lease lost")
        sent = time.monotonic()
        self.lease = await self._dcs.grant(self.s.cluster_ttl_seconds)
        self.last_renew = sent
        self._registered = None
        if not await self._dcs.register(self._registration(), self.lease):
            raise StartupError(
                f"installation {self.me} was registered by another agent while this one was"
                " cut off: two agents share RCS_INSTALLATION_ID; stop one"
            )
        self._registered = self._registration()

    async def _write_peers(self, view: v.ClusterView) -> None:
        """Tell core the live peers (registrations on live leases) when they change; core
        offers them the receipts the operator delivered here for their messages."""
        peers = {i: r.core for i, r in view.installations.items() if i != self.me}
        if peers != self._peers_written:
            await self._peers.replace(peers)
            self._peers_written = peers
            log.info("cluster_peers_written", extra={"peers": sorted(peers)})

    def _registration(self) -> v.Registration:
        return v.Registration(
            self.me, self.role, self.applied, self.s.advertised_core, self.s.advertised_agent
        )
