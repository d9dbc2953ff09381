-- Inbound routes are a settings entity now. A rollback puts every route back as it was at
-- the revision, in any order: two routes may swap their (number, keyword) on the way, so
-- the pair is unique at commit rather than at each statement. The settings API still
-- refuses a taken pair up front, by name.
ALTER TABLE inbound_routes
    DROP CONSTRAINT inbound_routes_number_keyword_key,
    ADD CONSTRAINT inbound_routes_number_keyword_key UNIQUE (number, keyword)
        DEFERRABLE INITIALLY DEFERRED;
