-- Routing rules, sender names and substitution, traffic types and allowed hours, white lists
-- (SPEC F10-F14). References are by name (partner login, direction, operator, interface):
-- a rule reads the same in the API, the revision diff and the table, and the foreign keys
-- still refuse a dangling one. NULL in a condition column means "any".

-- Service (sender) names, each registered with some operators or none. The traffic type
-- is what the name was registered for; a message without its own type takes it.
CREATE TABLE sender_names (
    name text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 21),
    traffic_type smallint NOT NULL DEFAULT 2 CHECK (traffic_type IN (0, 1, 2, 5, 6, 7)),
    note text NOT NULL DEFAULT ''
);

CREATE TABLE sender_name_operators (
    sender_name text NOT NULL REFERENCES sender_names (name) ON DELETE CASCADE,
    operator text NOT NULL REFERENCES operators (name) ON UPDATE CASCADE,
    PRIMARY KEY (sender_name, operator)
);

-- A routing rule sends matching traffic to weighted interfaces (action 'route') or refuses
-- it as unrouted (action 'reject'). Lower priority number is tried first; a rule with no
-- conditions is a general rule, one bound to a partner / sender / direction / operator /
-- channel / traffic type is personal. No rule matching → the operator's own interfaces.
CREATE TABLE routing_rules (
    name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
    priority integer NOT NULL CHECK (priority BETWEEN 0 AND 1000000),
    enabled boolean NOT NULL DEFAULT true,
    action text NOT NULL DEFAULT 'route' CHECK (action IN ('route', 'reject')),
    partner text REFERENCES partners (login),
    sender text CHECK (length(sender) BETWEEN 1 AND 21),
    direction text REFERENCES directions (name) ON UPDATE CASCADE,
    operator text REFERENCES operators (name) ON UPDATE CASCADE,
    channel text CHECK (channel ~ '^[A-Z_]{2,32}$'),
    traffic_type smallint CHECK (traffic_type IN (0, 1, 2, 5, 6, 7)),
    note text NOT NULL DEFAULT ''
);

CREATE TABLE routing_rule_targets (
    rule text NOT NULL REFERENCES routing_rules (name) ON DELETE CASCADE,
    position integer NOT NULL,
    interface_id text NOT NULL REFERENCES interfaces (id),
    weight integer NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 1000000),
    PRIMARY KEY (rule, interface_id)
);

-- Sender substitution (F12): a sender matching the pattern (glob: * and ?) is replaced,
-- optionally only when it is not registered with the target operator. Rules are applied
-- until none matches; a cycle between them is refused when it is saved.
CREATE TABLE substitution_rules (
    name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
    priority integer NOT NULL CHECK (priority BETWEEN 0 AND 1000000),
    enabled boolean NOT NULL DEFAULT true,
    sender_pattern text NOT NULL DEFAULT '*' CHECK (length(sender_pattern) BETWEEN 1 AND 21),
    only_unregistered boolean NOT NULL DEFAULT true,
    replacement text NOT NULL CHECK (length(replacement) BETWEEN 1 AND 21),
    partner text REFERENCES partners (login),
    direction text REFERENCES directions (name) ON UPDATE CASCADE,
    operator text REFERENCES operators (name) ON UPDATE CASCADE,
    note text NOT NULL DEFAULT ''
);

-- Allowed local hours per traffic type (F11): outside them a message is held until the
-- window opens ('hold') or refused ('refuse'). Local = the subscriber's time zone, from the
-- region of its number-plan direction; region '' is the installation's default zone.
CREATE TABLE traffic_policies (
    traffic_type smallint PRIMARY KEY CHECK (traffic_type IN (0, 1, 2, 5, 6, 7)),
    allowed_from time NOT NULL,
    allowed_to time NOT NULL,
    outside text NOT NULL DEFAULT 'hold' CHECK (outside IN ('hold', 'refuse'))
);
-- Advertising (plain and templated) goes out 09:00-21:00 local time by default.
INSERT INTO traffic_policies VALUES (0, '09:00', '21:00', 'hold'), (7, '09:00', '21:00', 'hold');

CREATE TABLE region_time_zones (
    region text PRIMARY KEY,
    time_zone text NOT NULL
);
INSERT INTO region_time_zones VALUES ('', 'Europe/Moscow');

-- White lists per mailing: a message naming a mailing that has a white list goes only to
-- the numbers on it (others end REJECTED with extended code 10, filtered).
CREATE TABLE whitelist (
    partner text NOT NULL REFERENCES partners (login),
    mailing text NOT NULL CHECK (mailing ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    number text NOT NULL CHECK (number ~ '^[0-9]{10,15}$'),
    note text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner, mailing, number)
);

-- What a message says about itself for routing and policy.
ALTER TABLE messages
    ADD COLUMN traffic_type smallint CHECK (traffic_type IN (0, 1, 2, 5, 6, 7)),
    ADD COLUMN mailing text NOT NULL DEFAULT '';
