-- Employer accounts, stream A: the second factor's enrolment and replay guard, and lookups of
-- one-time links by user.

-- A TOTP secret offered at enrolment (sealed like `totp_secret`), kept until the user confirms
-- it with a code; and the time step of the last code accepted, so a code is never accepted twice.
ALTER TABLE employer_users
    ADD COLUMN totp_pending_secret text,
    ADD COLUMN totp_last_step bigint;

CREATE INDEX account_tokens_by_user ON account_tokens (user_id, purpose);
