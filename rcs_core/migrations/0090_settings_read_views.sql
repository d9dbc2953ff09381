-- The declared read contract of settings (issue 13): routing and the connector read core's
-- settings only through these views, never core's tables. Core (the one writer) may reshape
-- its tables as long as these keep their columns and meaning; a reader needing more gets a
-- column added here. Readers compile one consistent snapshot (REPEATABLE READ) and reload
-- when settings_read.revision moves. tests/integration/test_settings_read_contract.py moves
-- core's tables out of reach and checks that both readers still load.
CREATE SCHEMA settings_read;

-- The current settings revision: a reader reloads when it moves.
CREATE VIEW settings_read.revision AS
    SELECT revision FROM settings_revision;

-- Directions (plan and hand-made) with their operator's name.
CREATE VIEW settings_read.directions AS
    SELECT d.id, d.name, o.name AS operator, d.region
    FROM directions d JOIN operators o ON o.id = d.operator_id;

CREATE VIEW settings_read.direction_prefixes AS
    SELECT prefix, direction_id FROM direction_prefixes;

CREATE VIEW settings_read.direction_ranges AS
    SELECT range_start, range_end, direction_id FROM direction_ranges;

-- An operator's interfaces in priority order, with whether the interface is enabled.
CREATE VIEW settings_read.operator_routes AS
    SELECT o.name AS operator, r.interface_id, r.priority, i.enabled AS interface_enabled
    FROM operator_routes r
    JOIN operators o ON o.id = r.operator_id
    JOIN interfaces i ON i.id = r.interface_id;

CREATE VIEW settings_read.ported_numbers AS
    SELECT p.number, o.name AS operator
    FROM ported_numbers p JOIN operators o ON o.id = p.operator_id;

-- Rules as stored: NULL conditions mean "any".
CREATE VIEW settings_read.routing_rules AS
    SELECT name, priority, action, enabled, partner, sender, direction, operator, channel,
        traffic_type
    FROM routing_rules;

CREATE VIEW settings_read.routing_rule_targets AS
    SELECT rule, position, interface_id, weight FROM routing_rule_targets;

CREATE VIEW settings_read.substitution_rules AS
    SELECT name, priority, enabled, sender_pattern, only_unregistered, replacement, partner,
        direction, operator
    FROM substitution_rules;

CREATE VIEW settings_read.sender_names AS
    SELECT name, traffic_type FROM sender_names;

CREATE VIEW settings_read.sender_name_operators AS
    SELECT sender_name, operator FROM sender_name_operators;

CREATE VIEW settings_read.traffic_policies AS
    SELECT traffic_type, allowed_from, allowed_to, outside FROM traffic_policies;

CREATE VIEW settings_read.region_time_zones AS
    SELECT region, time_zone FROM region_time_zones;

-- Operator-side interfaces, with the bind password the connector needs.
CREATE VIEW settings_read.interfaces AS
    SELECT id, kind, host, port, system_id, password, system_type, window_size,
        throughput_per_second, enabled
    FROM interfaces;
