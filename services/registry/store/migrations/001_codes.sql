-- Verification codes issued for authentic verdicts; one row per verification request.
CREATE TABLE verification_codes (
    request_id uuid PRIMARY KEY,
    -- 16 Crockford base32 symbols and the mod-37 check symbol, without separators
    code text NOT NULL UNIQUE CHECK (code ~ '^[0-9A-HJKMNP-TV-Z]{16}[0-9A-HJKMNP-TV-Z*~$=U]$'),
    qualification_id text NOT NULL,
    body_ids text[] NOT NULL CHECK (cardinality(body_ids) > 0),
    holder_ref text NOT NULL,
    holder_name text NOT NULL,
    region text NOT NULL CHECK (region IN ('beijing', 'tianjin', 'hebei')),
    employer_id text NOT NULL,
    verified_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revocation_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL))
);
