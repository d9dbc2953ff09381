"""Settings of the rcs_dwh process (``rcs serve dwh``)."""

from __future__ import annotations

from pydantic import Field, field_validator

from rcs_runtime.settings import RcsSettings


def parse_installations(spec: str) -> dict[int, str]:
    """``"1=east,2=east,3=west"`` → {1: "east", 2: "east", 3: "west"}."""
    out: dict[int, str] = {}
    for item in filter(None, (p.strip() for p in spec.split(","))):
        inst, sep, cluster = item.partition("=")
        if not sep or not inst.strip().isdigit() or not cluster.strip():
            raise ValueError(
                f"RCS_DWH_INSTALLATIONS item {item!r} must be <installation id>=<cluster>, "
                "e.g. 1=east,2=east,3=west"
            )
        out[int(inst)] = cluster.strip()
    return out


class DwhSettings(RcsSettings):
    dwh_database_url: str = "postgresql://rcs@127.0.0.1:5432/rcs_dwh"
    dwh_kafka_bootstrap: str = "127.0.0.1:9092"
    # Every installation's topics: <root>.i<installation>.public.<table> (rcs_capture.publication).
    dwh_topic_pattern: str = r"^rcs\.i\d+\.public\..+"
    dwh_group: str = "rcs-dwh"
    # The installation registry's seed: which cluster each installation belongs to.
    dwh_installations: str = ""
    dwh_bind: str = "127.0.0.1:50060"
    dwh_batch_max: int = Field(default=20000, ge=1)
    dwh_poll_ms: int = Field(default=100, ge=1)
    dwh_registry_refresh_seconds: float = Field(default=10.0, gt=0)
    # How often new topics (a new installation, a newly captured table) are looked for.
    dwh_topic_refresh_seconds: float = Field(default=3.0, gt=0)
    dwh_db_pool_max: int = Field(default=6, ge=2)

    @field_validator("dwh_installations")
    @classmethod
    def _installations(cls, v: str) -> str:
        parse_installations(v)
        return v
