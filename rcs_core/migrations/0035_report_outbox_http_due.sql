-- Due HTTP reports of every format and partner, oldest first (the HTTP report sender's
-- lease): (format, next_attempt_at) cannot give that order across three formats, so each
-- lease sorted the whole outbox (24 ms at 20,000 reports), which held callbacks to a few
-- hundred a second. SMPP reports (format 1) are leased per login by the other index.
CREATE INDEX report_outbox_http_due_idx ON report_outbox (next_attempt_at, id) WHERE format <> 1;
