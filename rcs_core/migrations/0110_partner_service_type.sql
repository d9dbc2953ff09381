-- Per login: the message type of its service (Rapporto's serviceId is one service of one
-- type, http_auth.rst / http_flashcall.rst "указать тип сообщения FlashingCall"): what a
-- plain HTTP v5 request (no order_list) of the login sends. SMS by default.
ALTER TABLE partners
    ADD COLUMN service_type text NOT NULL DEFAULT 'SMS'
        CHECK (service_type IN ('SMS', 'PUSH', 'VIBER', 'WHATSAPP', 'VK', 'FLASHINGCALL'));
COMMENT ON COLUMN partners.service_type IS
    'message type of a plain HTTP v5 request of this login: SMS, PUSH, VIBER, WHATSAPP, VK or FLASHINGCALL';
