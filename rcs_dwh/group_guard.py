"""A guard around a kafka-python 3.0.12 consumer-group bug: a rebalance left half done.

``ConsumerCoordinator.need_rejoin()`` turns false while the join is still in flight: the
join task itself records the subscription it joins with and, as the group leader, the
metadata snapshot it assigns from. ``join_group_async`` awaits the JoinGroup / SyncGroup in
flight only inside ``while need_rejoin()``. So a rebalance started by a subscription or
metadata change (a new topic, new partitions) whose round trips outlast one
``poll(timeout_ms)`` is never completed: the member stays REBALANCING with its heartbeat
off and no partitions, the broker expires it after ``session_timeout_ms``, and nothing
rejoins until the next subscription change. The last log line is "Elected group leader --
performing partition assignments" (issue 20: no batch for 1.5-2.8 min in bench.dwh_ingest;
reproduced every time with 1-5 ms polls). kafka-python's master (a3b3836, 2026-08) has the
same code; no report of it was found in its tracker.
"""

from __future__ import annotations

from kafka import KafkaConsumer
from kafka.structs import MemberState


def hold_rejoin_while_rebalancing(consumer: KafkaConsumer) -> bool:
    """Call before each poll: while the member is rebalancing, keep the coordinator's
    rejoin flag set, so that the poll awaits the join in flight (or restarts one that was
    left behind) until its assignment is taken. The flag is cleared by the library when the
    assignment is applied, so a healthy rebalance is not repeated. True when it acted."""
    if consumer.group_metadata().state != MemberState.REBALANCING:
        return False
    # No public call sets the flag (kafka-python has no enforce_rebalance()).
    consumer._coordinator.request_rejoin()
    return True
