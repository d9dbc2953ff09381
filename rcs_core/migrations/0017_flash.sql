-- Flash SMS (message class 0): the operator connector submits it with data_coding 0x10
-- (GSM 03.38) or 0x18 (UCS-2). NULL: an ordinary SMS.
ALTER TABLE messages ADD COLUMN flash boolean;
