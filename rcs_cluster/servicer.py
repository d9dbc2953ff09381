"""gRPC edge of the agent: ClusterService (status, installations, switchover)."""

from __future__ import annotations

from typing import Any

import grpc

from rcs.cluster.v1 import cluster_service_pb2 as cs
from rcs.cluster.v1 import cluster_service_pb2_grpc
from rcs_cluster import view as v
from rcs_cluster.agent import Agent
from rcs_cluster.dcs import Dcs
from rcs_runtime.errors import RcsError, Reason

Ctx = grpc.aio.ServicerContext[Any, Any]
_ROLES = {v.MASTER: cs.ROLE_MASTER, v.STANDBY: cs.ROLE_STANDBY}


def _installation(reg: v.Registration) -> cs.Installation:
    return cs.Installation(
        installation_id=reg.installation_id,
        role=_ROLES.get(reg.role, cs.ROLE_UNSPECIFIED),
        settings_revision=reg.revision,
        core_endpoint=reg.core,
        agent_endpoint=reg.agent,
    )


class ClusterServicer(cluster_service_pb2_grpc.ClusterServiceServicer):
    """Answers from the agent's last read of etcd (at most loop_wait old); the switchover
    RPCs re-read etcd and write with compare-and-set."""

    def __init__(self, agent: Agent | None, dcs: Dcs | None, cluster: str, me: int) -> None:
        self._agent = agent  # None: a lone installation (no etcd)
        self._dcs = dcs
        self._cluster = cluster
        self._me = me

    def _status(self) -> cs.GetClusterStatusResponse:
        a = self._agent
        if a is None:
            return cs.GetClusterStatusResponse(
                cluster=self._cluster,
                installation_id=self._me,
                role=cs.ROLE_MASTER,
                master_installation_id=self._me,
                etcd_configured=False,
            )
        view = a.view
        return cs.GetClusterStatusResponse(
            cluster=self._cluster,
            installation_id=self._me,
            role=_ROLES[a.role],
            master_installation_id=view.master_id or 0,
            master_term=view.master_term,
            published_settings_revision=view.published_revision,
            settings_revision=a.applied,
            lease_remaining_seconds=max(0.0, a.lease_remaining()),
            installations=[_installation(r) for _, r in sorted(view.installations.items())],
            etcd_configured=True,
        )

    async def GetClusterStatus(
        self, request: cs.GetClusterStatusRequest, context: Ctx
    ) -> cs.GetClusterStatusResponse:
        return self._status()

    async def ListInstallations(
        self, request: cs.ListInstallationsRequest, context: Ctx
    ) -> cs.ListInstallationsResponse:
        return cs.ListInstallationsResponse(installations=self._status().installations)

    def _need_etcd(self) -> Dcs:
        if self._dcs is None:
            raise RcsError(
                Reason.INVALID_REQUEST,
                "this installation runs alone (RCS_ETCD_ENDPOINTS is empty): it is its own"
                " master and there is no other to move the role to",
            )
        return self._dcs

    async def PromoteInstallation(
        self, request: cs.PromoteInstallationRequest, context: Ctx
    ) -> cs.PromoteInstallationResponse:
        dcs = self._need_etcd()
        view = await dcs.read()
        target = view.installations.get(request.installation_id)
        if target is None:
            live = ", ".join(str(i) for i in sorted(view.installations)) or "none"
            raise RcsError(
                Reason.NOT_FOUND,
                f"installation {request.installation_id} is not live in cluster"
                f" {self._cluster!r} (live: {live})",
            )
        if view.master_id is None:
            raise RcsError(
                Reason.INVALID_REQUEST,
                "no master is elected right now: one will be within the TTL; promote then",
            )
        if view.master_id == request.installation_id:
            raise RcsError(
                Reason.INVALID_REQUEST, f"installation {request.installation_id} is the master"
            )
        if target.revision < view.published_revision:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"installation {request.installation_id} has applied settings revision"
                f" {target.revision} of {view.published_revision}: wait until it caught up",
            )
        switchover = v.Switchover(view.master_id, request.installation_id)
        if not await dcs.ask_switchover(switchover, self._ttl()):
            raise RcsError(Reason.INVALID_REQUEST, "the master changed meanwhile: look and retry")
        return cs.PromoteInstallationResponse(previous_master_installation_id=view.master_id)

    async def DemoteMaster(
        self, request: cs.DemoteMasterRequest, context: Ctx
    ) -> cs.DemoteMasterResponse:
        dcs = self._need_etcd()
        view = await dcs.read()
        if view.master_id is None:
            raise RcsError(Reason.INVALID_REQUEST, "no master is elected right now")
        if not await dcs.ask_switchover(v.Switchover(view.master_id, 0), self._ttl()):
            raise RcsError(Reason.INVALID_REQUEST, "the master changed meanwhile: look and retry")
        return cs.DemoteMasterResponse(previous_master_installation_id=view.master_id)

    def _ttl(self) -> int:
        assert self._agent is not None
        return self._agent.s.cluster_ttl_seconds
