-- Each operator id carries its message's created_at (the messages partition key), so a
-- receipt finds and finalises its message in the one partition the message is in instead
-- of probing every day of retention (30 partitions by default). NULL in rows written
-- before this migration: readers then look the message up by id.
ALTER TABLE operator_ids ADD COLUMN message_created_at timestamptz;
