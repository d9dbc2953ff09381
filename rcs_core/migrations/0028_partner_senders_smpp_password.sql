-- Senders belong to partners (issue 14): a partner sends only from its default_sender
-- and the sender names and short numbers listed here; any other is refused
-- (INVALID_SENDER, REST v6 code 7 "serviceNumber is not defined").
ALTER TABLE partners ADD COLUMN senders text[] NOT NULL DEFAULT '{}';
-- An SMPP bind carries at most 8 password characters: a partner whose password is longer
-- gets an SMPP password of its own (hashed like the password), checked at SMPP binds.
ALTER TABLE partners ADD COLUMN smpp_password_hash text;
