"""The installation's change capture follows its role (issue 20): the cluster agent switches
the publication's tables at the moment the role changes, in the order that leaves no gap and
no standby settings in the DWH —

- promotion: capture settings *before* core may take settings writes (``be_master``);
- demotion: capture transactions only *after* core is fenced (``be_standby``) and before the
  standby applies settings pulled from the master.

Debezium's connector is never restarted for a switch (``rcs_capture/publication.py``); the agent
only makes sure it exists, in the background, so that Kafka Connect being slow or down
never delays an election.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from rcs_capture.publication import CaptureError, CaptureTarget, ensure_connector, set_publication

log = logging.getLogger(__name__)


class CaptureSwitch:
    def __init__(self, target: CaptureTarget) -> None:
        self.target = target
        self.role: str | None = None  # what the publication captures now, once set here

    async def to(self, role: str) -> None:
        """Capture as ``role``; a database error propagates (the agent's turn fails and is
        retried, as for its other database calls)."""
        if role == self.role:
            return
        await set_publication(self.target.database_url, role)
        log.info("capture_switched", extra={"role": role, "was": self.role})
        self.role = role

    async def keep_connector(self, retry_seconds: float = 5.0) -> None:
        """Create the connector once Kafka Connect answers; runs until it exists."""
        while True:
            try:
                await ensure_connector(self.target, self.role or "standby")
                log.info(
                    "capture_connector_present", extra={"connector": self.target.connector_name}
                )
                return
            except (CaptureError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning(
                    "capture_connector_unavailable",
                    extra={"connect": self.target.connect_url, "error": str(exc)},
                )
            await asyncio.sleep(retry_seconds)
