-- Subscribers' replies in messengers (issue 17): the channel an MO came by, the link to
-- the media the subscriber sent, and the partner's message it answered when the provider
-- named it (Viber's tracking_data, WhatsApp's context), for the partner's MO report.
ALTER TABLE inbound_messages
    ADD COLUMN channel smallint NOT NULL DEFAULT 1,
    ADD COLUMN media_url text,
    ADD COLUMN reply_to bigint;
