-- rcs_rpns's installation database (push, issue 16). rpns alone reads and writes these
-- tables; they live in the installation's database so that one backup and one failover
-- cover them, and core never joins them.

-- A partner's mobile application, named in a push by its serviceNumber. credentials holds
-- one object per push service ({"apns": {...}, "fcm": {...}, "hms": {...}, "rustore": {...}}).
CREATE TABLE rpns_apps (
    id bigserial PRIMARY KEY,
    partner text NOT NULL,
    service_number text NOT NULL,
    api_key text NOT NULL UNIQUE,
    min_version text NOT NULL DEFAULT '',
    credentials jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (partner, service_number)
);

-- One application install on a device. platform: 1 iOS, 2 Android (FCM), 3 Huawei,
-- 4 RuStore (rcs.rpns.v1.Platform). A token is unique per application: registering it
-- again refreshes the install.
CREATE TABLE rpns_installs (
    id uuid PRIMARY KEY,
    app_id bigint NOT NULL REFERENCES rpns_apps (id),
    platform smallint NOT NULL,
    token text NOT NULL,
    phone text,
    external_user_id text,
    subscriptions text[] NOT NULL DEFAULT '{}',
    push_enabled boolean NOT NULL DEFAULT true,
    os_push_enabled boolean NOT NULL DEFAULT true,
    app_version text NOT NULL DEFAULT '',
    is_primary boolean NOT NULL DEFAULT false,
    active boolean NOT NULL DEFAULT true,
    disabled_reason text NOT NULL DEFAULT '',
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (app_id, token)
);
CREATE INDEX rpns_installs_phone_idx ON rpns_installs (app_id, phone) WHERE phone IS NOT NULL;
CREATE INDEX rpns_installs_user_idx ON rpns_installs (app_id, external_user_id)
    WHERE external_user_id IS NOT NULL;

-- One push: a core message handed to rpns (ConnectorService), fanned out to installs.
-- status is what rpns knows (rcs.common.v1.MessageStatus: 0 none yet, 3 DELIVERED,
-- 7 READ, 4 UNDELIVERED); reported_status what core has stored: the receipt outbox is
-- the rows where they differ.
CREATE TABLE rpns_pushes (
    id bigserial PRIMARY KEY,
    message_id text NOT NULL UNIQUE,
    interface_id text NOT NULL,
    app_id bigint NOT NULL REFERENCES rpns_apps (id),
    content bytea NOT NULL,  -- rcs.common.v1.PushContent
    valid_until timestamptz NOT NULL,
    status smallint NOT NULL DEFAULT 0,
    error_code int NOT NULL DEFAULT 0,
    status_at timestamptz,
    reported_status smallint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rpns_pushes_unreported_idx ON rpns_pushes (id) WHERE status <> reported_status;

-- One push to one install. state: 0 queued, 1 sent to the push service, 2 delivered
-- (the SDK confirmed), 3 opened, 4 failed for good. A queued row is the sender's to claim
-- once next_at has come (it moves next_at on by a lease while it sends).
CREATE TABLE rpns_deliveries (
    push_id bigint NOT NULL REFERENCES rpns_pushes (id) ON DELETE CASCADE,
    install_id uuid NOT NULL REFERENCES rpns_installs (id),
    state smallint NOT NULL DEFAULT 0,
    attempts int NOT NULL DEFAULT 0,
    next_at timestamptz NOT NULL DEFAULT now(),
    error_code int NOT NULL DEFAULT 0,
    detail text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (push_id, install_id)
);
CREATE INDEX rpns_deliveries_due_idx ON rpns_deliveries (next_at) WHERE state = 0;
