"""Which installation tables the DWH captures, in one place.

"Settings" go only from a cluster's master (a standby's are copies synced from it);
"transactions" go from every installation. Each table here must have a primary key on the
installation (checked by tests/unit/dwh/test_tables.py against the migrated schema), so
that UPDATE and DELETE keep working once it is in a publication and so that the DWH can key
its rows by (installation, table, primary key).
"""

from __future__ import annotations

from typing import Final

SCHEMA: Final = "public"

SETTINGS_TABLES: Final[tuple[str, ...]] = (
    "partners",
    "operators",
    "interfaces",
    "operator_routes",
    "directions",
    "direction_prefixes",
    "sender_names",
    "sender_name_operators",
    "routing_rules",
    "routing_rule_targets",
    "substitution_rules",
    "traffic_policies",
    "region_time_zones",
    "inbound_routes",
    "settings_revisions",
    "tariffs",
)

TRANSACTION_TABLES: Final[tuple[str, ...]] = ("messages", "status_events")

# Secrets and bodies never leave the installation.
EXCLUDED_COLUMNS: Final[tuple[str, ...]] = (
    "partners.password_hash",
    "partners.smpp_password_hash",
    "interfaces.password",
    "messages.body",
    "messages.trace_parent",
)

# The primary key of each captured table, as the DWH keys it (installation's own PK).
PRIMARY_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "partners": ("id",),
    "operators": ("id",),
    "interfaces": ("id",),
    "operator_routes": ("operator_id", "interface_id"),
    "directions": ("id",),
    "direction_prefixes": ("prefix",),
    "sender_names": ("name",),
    "sender_name_operators": ("sender_name", "operator"),
    "routing_rules": ("name",),
    "routing_rule_targets": ("rule", "interface_id"),
    "substitution_rules": ("name",),
    "traffic_policies": ("traffic_type",),
    "region_time_zones": ("region",),
    "inbound_routes": ("name",),
    "settings_revisions": ("revision",),
    "tariffs": ("id",),
    "messages": ("id", "created_at"),
    "status_events": ("event_id", "created_at"),
}

# One publication per installation database. A role change alters its table list: the
# change is itself in the WAL, so decoding (pgoutput reads the publication as of each
# change's position) switches at that exact point, even when Debezium replays WAL from
# before it after a restart.
PUBLICATION: Final = "rcs_dwh"
ALL_TABLES: Final = SETTINGS_TABLES + TRANSACTION_TABLES


def tables_for(role: str) -> tuple[str, ...]:
    """The tables a master ("master") or a standby ("standby") sends to the DWH."""
    if role == "master":
        return ALL_TABLES
    if role == "standby":
        return TRANSACTION_TABLES
    raise ValueError(f"capture role must be 'master' or 'standby', not {role!r}")
