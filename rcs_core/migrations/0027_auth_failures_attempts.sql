-- Failed logins are counted per (login, address) and per address, never per login alone
-- (issue 14: ten wrong passwords from anywhere locked a partner out everywhere). An
-- attempt is recorded before its password check, in the same transaction that counts the
-- failures (under an advisory lock per key), so that concurrent guesses cannot overshoot
-- the limit; a success or an error that is no failed login deletes its rows again by id.
-- Keys: 'ip:<address>', 'login:<address>/<login>', 'admin:<address>/<login>',
-- 'apikey:<address>'. Rows of the old per-login keys ('login:<login>') simply expire.
ALTER TABLE auth_failures ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX auth_failures_id_idx ON auth_failures (id);
