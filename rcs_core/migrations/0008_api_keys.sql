-- Partner API keys (REST_BATCH "Authorization: Key …", F18). A key is 30 random characters
-- of A-Z a-z 0-9 (≈ 178 bits), so it is stored as its SHA-256: a slow password hash adds
-- nothing against guessing a key that long and would be paid on every request. The clear
-- key is shown once, when issued. Keys are credentials, not settings: issuing and revoking
-- are audited but are not settings revisions (a rollback never brings a revoked key back).
CREATE TABLE partner_api_keys (
    id bigserial PRIMARY KEY,
    partner_id bigint NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    key_sha256 bytea NOT NULL UNIQUE,
    prefix text NOT NULL,
    note text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX partner_api_keys_partner_idx ON partner_api_keys (partner_id);
