-- http_mo.rst: each MO service has its own "время ожидания", the time the partner has to
-- answer. 0: the report sender's timeout (RCS_REPORT_SENDER_TIMEOUT_SECONDS), which also
-- caps it.
ALTER TABLE inbound_routes
    ADD COLUMN timeout_seconds smallint NOT NULL DEFAULT 0 CHECK (timeout_seconds BETWEEN 0 AND 60);
