-- A B file's N flag (issue 18, ftp_blacklist.rst: "remove the number from existing mailing
-- lists Y/N"). A mailing's messages carry its id, and a black list entry keeps whether it
-- spares the mailings that existed before it: the dispatcher does not block their
-- messages for such an entry. Both columns are metadata-only additions (no rewrite of the
-- partitioned messages table); mailing_id is NULL for every other message.
ALTER TABLE messages ADD COLUMN mailing_id bigint;
ALTER TABLE blacklist ADD COLUMN keep_in_mailings boolean NOT NULL DEFAULT false;
