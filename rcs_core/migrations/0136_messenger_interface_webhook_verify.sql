-- What a messenger interface's callback server answers the provider's check with (issue
-- 17): VK's confirmation string (Callback API "confirmation"), WhatsApp's verify token
-- (the subscription handshake's hub.verify_token); '' for the others. Write-only, like
-- the token and webhook secret.
ALTER TABLE messenger_interfaces ADD COLUMN webhook_verify text NOT NULL DEFAULT '';

CREATE OR REPLACE VIEW settings_read.messenger_interfaces AS
    SELECT id, channel, priority, enabled, api_url, account, token, webhook_secret,
        webhook_verify
    FROM messenger_interfaces;
