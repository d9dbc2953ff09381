-- Per partner and messenger channel (issue 17): the sender identities it may use (Viber
-- sender names, WhatsApp business numbers, VK community, Telegram sender, flash-call
-- caller numbers), its approved WhatsApp templates and the channel's default TTL (0: the
-- partner's own default). A partner with no row here keeps every built channel and any
-- identity; once it has one, a channel without a row is refused (core's accept path).
CREATE TABLE partner_channels (
  partner text NOT NULL REFERENCES partners (login) ON UPDATE CASCADE ON DELETE CASCADE,
  channel smallint NOT NULL CHECK (channel > 0),
  identities text[] NOT NULL DEFAULT '{}',
  -- [{"name", "language", "parameter_count"}], sorted by (name, language)
  templates jsonb NOT NULL DEFAULT '[]',
  default_ttl_seconds integer NOT NULL DEFAULT 0 CHECK (default_ttl_seconds >= 0),
  PRIMARY KEY (partner, channel)
);
