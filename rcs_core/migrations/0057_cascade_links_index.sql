-- A cascade's links by its id, for the status pull of the chain (GET /api/v6/messages/{mtNum},
-- query_sm). Partial: messages outside a cascade (almost all) add no index entry.
CREATE INDEX messages_cascade_idx ON messages (cascade_id) WHERE cascade_id IS NOT NULL;
