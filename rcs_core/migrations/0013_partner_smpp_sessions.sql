-- SMPP sessions a login may have bound at once (SMPP_API.txt 1.3: set per partner; a bind
-- beyond it is refused with 0x05). Counted by each SMPP gateway process; 0 = no limit.
ALTER TABLE partners
    ADD COLUMN max_smpp_sessions integer NOT NULL DEFAULT 0 CHECK (max_smpp_sessions >= 0);
