-- Tariffs: the price of one message by partner / direction / channel / traffic type, from a
-- date on. A price change is a new row with a later valid_from, so the history stays; the
-- DWH's financial report takes, per message, the most specific row in force at its time.
-- '' (partner, direction), 0 (channel) and NULL (traffic type) match any.
CREATE TABLE tariffs (
  id bigserial PRIMARY KEY,
  partner text NOT NULL DEFAULT '',
  direction text NOT NULL DEFAULT '',
  channel smallint NOT NULL DEFAULT 0 CHECK (channel >= 0),
  traffic_type smallint CHECK (traffic_type IN (0, 1, 2, 5, 6, 7)),
  price numeric(14, 4) NOT NULL CHECK (price >= 0),
  currency text NOT NULL DEFAULT 'RUB',
  valid_from timestamptz NOT NULL DEFAULT now(),
  UNIQUE NULLS NOT DISTINCT (partner, direction, channel, traffic_type, valid_from)
);
