-- Traffic verification (F13): black lists, duplicate blocking, inactive numbers.

-- partner_id NULL: the global list.
CREATE TABLE blacklist (
    id bigserial PRIMARY KEY,
    partner_id bigint REFERENCES partners (id) ON DELETE CASCADE,
    number text NOT NULL CHECK (number ~ '^[0-9]{10,15}$'),
    note text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX blacklist_entry_idx ON blacklist (coalesce(partner_id, 0), number);
CREATE INDEX blacklist_number_idx ON blacklist (number);

-- Same number + same text from one partner within the window is refused (REST 10 / 409).
ALTER TABLE partners
    ADD COLUMN block_duplicates boolean NOT NULL DEFAULT false,
    ADD COLUMN duplicate_window_seconds integer NOT NULL DEFAULT 86400
        CHECK (duplicate_window_seconds > 0);

CREATE INDEX messages_destination_idx ON messages (destination, created_at);

-- Numbers that keep failing with "absent" / "unknown subscriber" are marked inactive and
-- filtered until the mark expires. One row of policy, read by the SQL that applies it.
CREATE TABLE verification_policy (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    inactive_threshold integer NOT NULL DEFAULT 3 CHECK (inactive_threshold >= 1),
    inactive_window interval NOT NULL DEFAULT '30 days',
    inactive_ttl interval NOT NULL DEFAULT '90 days',
    inactive_codes integer[] NOT NULL DEFAULT '{2,8}'
);
INSERT INTO verification_policy DEFAULT VALUES;

CREATE TABLE inactive_numbers (
    number text PRIMARY KEY,
    error_code integer NOT NULL,
    failures integer NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
