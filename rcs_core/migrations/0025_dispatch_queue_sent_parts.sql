-- A multi-part SMS whose parts got different answers (one accepted, another throttled)
-- waits for its retry with the accepted parts here: [[part number, operator id, receipt
-- scope], ...]. The retry sends only the other parts (the same concatenation reference,
-- so the handset joins them), and the SENT record takes the ids of both attempts. Before,
-- the whole message was sent again and the subscriber could get a part twice.
ALTER TABLE dispatch_queue ADD COLUMN sent_parts jsonb;
