-- Per login: receipts and MO over SMPP carry only SMPP 3.4 standard TLVs (no Rapporto
-- 0x1440 message_type, 0x1411 ptag, 0x1441 seen_date), for client libraries that refuse
-- optional parameters they do not know (smpplib by default).
ALTER TABLE partners
    ADD COLUMN smpp_standard_tlvs_only boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN partners.smpp_standard_tlvs_only IS
    'deliver_sm to this login carries only SMPP 3.4 standard TLVs (no vendor tags 0x1400-0x3FFF)';
