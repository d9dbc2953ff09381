-- Messenger channels are deny by default (issue 17): from now on a partner without a
-- partner_channels row for VIBER, WHATSAPP, VK, FLASHINGCALL or TELEGRAM is refused it
-- (INVALID_MESSAGE_TYPE; SMS and PUSH unchanged). Until now a partner with no row at all
-- had every channel with any sender: such partners keep exactly that here (every
-- messenger channel, any identity), so an upgraded installation sends as before; partners
-- created from now on are granted their channels by the administrator
-- (`rcs settings partner-channels put`).
INSERT INTO partner_channels (partner, channel)
SELECT p.login, c.channel
FROM partners p
CROSS JOIN (VALUES (3), (4), (5), (6), (8)) AS c (channel)
WHERE NOT EXISTS (SELECT 1 FROM partner_channels pc WHERE pc.partner = p.login);
