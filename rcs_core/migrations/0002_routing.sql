-- Transport settings, first cut: number → direction → operator → interface.

CREATE TABLE operators (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    mcc text NOT NULL DEFAULT '',
    mnc text NOT NULL DEFAULT ''
);

CREATE TABLE directions (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    operator_id bigint NOT NULL REFERENCES operators (id)
);

-- A direction is a set of number prefixes and/or inclusive number ranges.
CREATE TABLE direction_prefixes (
    prefix text PRIMARY KEY CHECK (prefix ~ '^[0-9]{1,15}$'),
    direction_id bigint NOT NULL REFERENCES directions (id) ON DELETE CASCADE
);

CREATE TABLE direction_ranges (
    range_start bigint NOT NULL,
    range_end bigint NOT NULL,
    direction_id bigint NOT NULL REFERENCES directions (id) ON DELETE CASCADE,
    PRIMARY KEY (range_start, range_end),
    CHECK (range_start <= range_end)
);

CREATE TABLE interfaces (
    id text PRIMARY KEY CHECK (id ~ '^[a-z0-9_.-]{1,64}$'),
    kind text NOT NULL DEFAULT 'smpp' CHECK (kind IN ('smpp')),
    host text NOT NULL,
    port integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    system_id text NOT NULL,
    password text NOT NULL,
    system_type text NOT NULL DEFAULT '',
    window_size integer NOT NULL DEFAULT 10 CHECK (window_size BETWEEN 1 AND 1000),
    throughput_per_second integer NOT NULL DEFAULT 0 CHECK (throughput_per_second >= 0),
    enabled boolean NOT NULL DEFAULT true
);

-- Operator → interface, lowest priority number first.
CREATE TABLE operator_routes (
    operator_id bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    interface_id text NOT NULL REFERENCES interfaces (id),
    priority integer NOT NULL DEFAULT 0,
    PRIMARY KEY (operator_id, interface_id)
);

-- Bumped by every settings change; routing reloads when it moves.
CREATE TABLE settings_revision (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    revision bigint NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO settings_revision DEFAULT VALUES;
