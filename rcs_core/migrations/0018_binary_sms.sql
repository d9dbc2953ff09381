-- Binary SMS: body holds the octets in hex; data_coding and esm_class are what every part
-- is submitted with (HTTP v5 smpp_encoding / smpp_esm_class, SMPP binary submit_sm).
-- data_coding NULL: a text message.
ALTER TABLE messages
    ADD COLUMN data_coding smallint CHECK (data_coding BETWEEN 0 AND 255),
    ADD COLUMN esm_class smallint CHECK (esm_class BETWEEN 0 AND 255);
