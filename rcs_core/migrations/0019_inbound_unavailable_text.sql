-- http_mo.rst: the text sent to the subscriber when the partner's server does not take an
-- MO (no answer in time, an error). '' sends nothing.
ALTER TABLE inbound_routes
    ADD COLUMN unavailable_text text NOT NULL DEFAULT '' CHECK (length(unavailable_text) <= 2000);
