-- Provider interfaces of the messenger channels (issue 17): one provider account each
-- (Viber, WhatsApp Business, Telegram, VK community, flash-call provider), its API and
-- credentials. Core's dispatcher routes a channel's messages to its enabled interfaces in
-- priority order (lowest first) and the messenger service fails over along them, as the
-- SMPP connector does along an operator's interfaces. A channel without one keeps the
-- messenger service's own account (its RCS_VIBER_* ... environment).
CREATE TABLE messenger_interfaces (
  id text PRIMARY KEY,
  channel smallint NOT NULL CHECK (channel > 0),
  priority integer NOT NULL DEFAULT 0,
  enabled boolean NOT NULL DEFAULT true,
  api_url text NOT NULL,
  account text NOT NULL DEFAULT '',  -- WhatsApp phone-number id, VK community id
  token text NOT NULL DEFAULT '',  -- what requests carry (write-only in the API)
  webhook_secret text NOT NULL DEFAULT ''  -- what signs its callbacks, when not the token
);

-- The read contract (0090): the dispatcher and the messenger service read these.
CREATE VIEW settings_read.messenger_interfaces AS
    SELECT id, channel, priority, enabled, api_url, account, token, webhook_secret
    FROM messenger_interfaces;
