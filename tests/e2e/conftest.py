from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.installation import ADMIN_LOGIN, ADMIN_PASSWORD, Installation
from tests.support import seed_demo, upsert_admin


@pytest.fixture
def installation(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Installation]:
    """Every component as its own process; the demo partner routed to the simulator.

    Mark a test with ``@pytest.mark.smsc(outcomes=..., ...)`` to configure the simulator."""
    marker = request.node.get_closest_marker("smsc")
    extra = {f"RCS_SMSC_{k.upper()}": str(v) for k, v in (marker.kwargs if marker else {}).items()}
    inst = Installation(database_url, tmp_path / "logs", extra_env=extra)
    asyncio.run(seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"]))
    asyncio.run(upsert_admin(database_url, ADMIN_LOGIN, ADMIN_PASSWORD))  # seed_demo makes none
    yield inst
    inst.stop()
