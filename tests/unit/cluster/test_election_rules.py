"""The election rules of rcs_cluster (pure: no etcd) and the timing invariant checked at
start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rcs_cluster import view as v
from rcs_cluster.settings import ClusterSettings


def reg(i: int, revision: int = 5) -> v.Registration:
    return v.Registration(i, v.STANDBY, revision, f"core{i}:1", f"agent{i}:1")


def view(master: int | None = None, lease: int = 0, **kw: object) -> v.ClusterView:
    return v.ClusterView(
        master_id=master,
        master_lease=lease,
        published_revision=int(kw.get("published", 5)),  # type: ignore[call-overload]
        switchover=kw.get("switchover"),  # type: ignore[arg-type]
        installations={i: reg(i) for i in (1, 2, 3)},
    )


def step(cv: v.ClusterView, *, me: int = 1, lease: int = 11, applied: int = 5) -> v.Step:
    return v.next_step(cv, me=me, lease=lease, applied_revision=applied, held_off=False)


def test_the_key_on_our_own_lease_is_ours_on_another_lease_it_is_not() -> None:
    assert step(view(1, 11)) is v.Step.HOLD_MASTER
    # Our id, but an old lease of ours (a previous incarnation): follow until it expires.
    assert step(view(1, 99)) is v.Step.FOLLOW
    assert step(view(2, 22)) is v.Step.FOLLOW


def test_nobody_master_an_up_to_date_standby_campaigns_a_lagging_one_waits() -> None:
    assert step(view(None)) is v.Step.CAMPAIGN
    assert step(view(None, published=7), applied=6) is v.Step.WAIT
    assert v.next_step(view(None), me=1, lease=11, applied_revision=5, held_off=True) is v.Step.WAIT


def test_a_switchover_steps_the_master_down_and_lets_only_its_candidate_campaign() -> None:
    to_three = v.Switchover(master=1, candidate=3)
    assert step(view(1, 11, switchover=to_three)) is v.Step.STEP_DOWN
    assert step(view(None, switchover=to_three), me=2) is v.Step.WAIT
    assert step(view(None, switchover=to_three), me=3) is v.Step.CAMPAIGN
    assert step(view(None, switchover=to_three), me=1) is v.Step.WAIT
    anyone = v.Switchover(master=1, candidate=0)
    assert step(view(None, switchover=anyone), me=2) is v.Step.CAMPAIGN
    assert step(view(None, switchover=anyone), me=1) is v.Step.WAIT


def test_the_view_is_parsed_from_the_keys_under_the_prefix() -> None:
    p = v.prefix("eu")
    kvs = [
        (f"{p}master".encode(), b"2", 22, 40),
        (f"{p}settings/revision".encode(), b"9", 0, 3),
        (f"{p}installations/2".encode(), reg(2, 9).encode().encode(), 22, 5),
        (f"{p}switchover".encode(), v.Switchover(2, 3).encode().encode(), 33, 41),
    ]
    parsed = v.parse_view("eu", kvs, 50)
    assert (parsed.master_id, parsed.master_lease, parsed.master_term) == (2, 22, 40)
    assert parsed.published_revision == 9
    assert parsed.master == reg(2, 9)
    assert parsed.switchover == v.Switchover(2, 3)


def test_loop_wait_plus_two_retry_timeouts_must_fit_in_the_ttl() -> None:
    ok = ClusterSettings(
        etcd_endpoints="127.0.0.1:2379",
        cluster_ttl_seconds=5,
        cluster_loop_wait_seconds=1,
        cluster_retry_timeout_seconds=2,
    )
    assert ok.endpoints == ["127.0.0.1:2379"]
    with pytest.raises(ValidationError, match="must not exceed RCS_CLUSTER_TTL_SECONDS"):
        ClusterSettings(
            etcd_endpoints="127.0.0.1:2379",
            cluster_ttl_seconds=5,
            cluster_loop_wait_seconds=2,
            cluster_retry_timeout_seconds=2,
        )
    # A lone installation (no etcd) has no lease to check.
    assert ClusterSettings(cluster_ttl_seconds=1).endpoints == []
