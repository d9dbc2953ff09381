"""The cluster as read from etcd in one range request, and what this installation should do
about it: pure code (no etcd, no database), so that the election rules are unit-tested."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

MASTER = "master"
STANDBY = "standby"


def prefix(cluster: str) -> str:
    return f"/rcs/v1/clusters/{cluster}/"


def master_key(cluster: str) -> str:
    return f"{prefix(cluster)}master"


def installation_key(cluster: str, installation_id: int) -> str:
    return f"{prefix(cluster)}installations/{installation_id}"


def revision_key(cluster: str) -> str:
    return f"{prefix(cluster)}settings/revision"


def switchover_key(cluster: str) -> str:
    return f"{prefix(cluster)}switchover"


@dataclass(frozen=True, slots=True)
class Registration:
    installation_id: int
    role: str
    revision: int
    core: str
    agent: str

    def encode(self) -> str:
        return json.dumps(
            {
                "id": self.installation_id,
                "role": self.role,
                "revision": self.revision,
                "core": self.core,
                "agent": self.agent,
            }
        )

    @staticmethod
    def decode(raw: bytes) -> Registration:
        doc: dict[str, Any] = json.loads(raw)
        return Registration(
            int(doc["id"]), str(doc["role"]), int(doc["revision"]), doc["core"], doc["agent"]
        )


@dataclass(frozen=True, slots=True)
class Switchover:
    """An SRE's move of the master role: the master steps down; ``candidate`` (0: any
    other installation) takes it."""

    master: int
    candidate: int

    def encode(self) -> str:
        return json.dumps({"master": self.master, "candidate": self.candidate})

    @staticmethod
    def decode(raw: bytes) -> Switchover:
        doc = json.loads(raw)
        return Switchover(int(doc["master"]), int(doc["candidate"]))


@dataclass(frozen=True, slots=True)
class ClusterView:
    master_id: int | None = None
    master_lease: int = 0
    master_term: int = 0  # the master key's create revision: the term's fencing token
    published_revision: int = 0
    switchover: Switchover | None = None
    installations: dict[int, Registration] = field(default_factory=dict)
    etcd_revision: int = 0

    @property
    def master(self) -> Registration | None:
        return self.installations.get(self.master_id) if self.master_id is not None else None


def parse_view(
    cluster: str, kvs: list[tuple[bytes, bytes, int, int]], revision: int
) -> ClusterView:
    """The view from (key, value, lease, create_revision) of every key under the prefix."""
    master_id: int | None = None
    master_lease = master_term = published = 0
    switchover = None
    installations: dict[int, Registration] = {}
    inst_prefix = installation_key(cluster, 0)[:-1].encode()
    for key, value, lease, created in kvs:
        if key == master_key(cluster).encode():
            master_id, master_lease, master_term = int(value), lease, created
        elif key == revision_key(cluster).encode():
            published = int(value)
        elif key == switchover_key(cluster).encode():
            switchover = Switchover.decode(value)
        elif key.startswith(inst_prefix):
            reg = Registration.decode(value)
            installations[reg.installation_id] = reg
    return ClusterView(
        master_id, master_lease, master_term, published, switchover, installations, revision
    )


class Step(enum.Enum):
    HOLD_MASTER = "hold_master"  # ours: stay master (extend the fence, publish the revision)
    STEP_DOWN = "step_down"  # ours, but a switchover asks us to leave
    CAMPAIGN = "campaign"  # nobody's: try to take it
    WAIT = "wait"  # nobody's, but not ours to take (lagging, held off, another's switchover)
    FOLLOW = "follow"  # another's: be a standby and pull its settings


def next_step(
    view: ClusterView, *, me: int, lease: int, applied_revision: int, held_off: bool
) -> Step:
    """What this installation does about ``view`` (Patroni's HA loop, reduced to the
    master key): only the holder of the key on its own lease is master."""
    if view.master_id == me and view.master_lease == lease:
        if view.switchover is not None and view.switchover.master == me:
            return Step.STEP_DOWN
        return Step.HOLD_MASTER
    if view.master_id is not None:
        return Step.FOLLOW
    if held_off or applied_revision < view.published_revision:
        return Step.WAIT  # a lagging standby would lose the master's last revisions
    if view.switchover is not None and view.switchover.candidate not in (0, me):
        return Step.WAIT
    if view.switchover is not None and view.switchover.master == me:
        return Step.WAIT  # the one stepping down lets the others go first
    return Step.CAMPAIGN
