-- Administrators of the installation: the admin API and (later) the admin cabinet.
CREATE TABLE admins (
    login text PRIMARY KEY CHECK (login ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
