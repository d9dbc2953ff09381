-- Channels in core: a CHANNEL_PUSH message keeps its text in body and its serviceNumber in
-- sender, as an SMS does, and the rest of rest_push.rst's data (title, externalUserId,
-- image, buttons, custom payload, ...) here as a serialized rcs.common.v1.PushContent.
-- NULL for every other channel. A push sent by externalUserId alone has destination ''.
ALTER TABLE messages ADD COLUMN push bytea;
