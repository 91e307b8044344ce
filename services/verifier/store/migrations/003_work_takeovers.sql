-- How often a request was taken over after its verifier died or failed: a request that keeps
-- failing is given up (unable to verify) instead of being retried for ever.
ALTER TABLE work ADD COLUMN takeovers integer NOT NULL DEFAULT 0;
