-- Rapporto sends one deliver_sm receipt per submit_sm (SMPP_API.txt section 10): a message
-- the partner split itself gets one receipt per part that asked for one. Each stored part
-- remembers whether it asked; the joined message keeps how many did (NULL: one).
ALTER TABLE submit_parts ADD COLUMN receipt_wanted boolean NOT NULL DEFAULT false;
ALTER TABLE messages ADD COLUMN receipt_copies smallint CHECK (receipt_copies BETWEEN 2 AND 255);
