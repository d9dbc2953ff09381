from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.etcd_process import EtcdProcess


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[EtcdProcess]:
    """A fresh etcd for one test (its own data directory and ports)."""
    process = EtcdProcess(tmp_path / "etcd-data")
    process.start()
    yield process
    process.stop()
