-- The messenger service's accepted answers (issue 17): written before SendMessages answers
-- core, so that a repeat of a message the provider already took (the dispatcher retrying
-- an answer it lost, also after a restart or kill -9 of the messenger service) gets the
-- recorded answer back instead of a second send. rcs_messengers alone reads and writes it,
-- and deletes a row an hour after its message's validity (no repeat comes after that).
CREATE TABLE messenger_sent_answers (
  message_id text NOT NULL,
  interface_id text NOT NULL,  -- the provider interface that took it
  result bytea NOT NULL,  -- the rcs.connector.v1.SendResult answered (ACCEPTED)
  valid_until timestamptz NOT NULL,
  PRIMARY KEY (message_id, interface_id)
);
CREATE INDEX messenger_sent_answers_valid_until_idx ON messenger_sent_answers (valid_until);
