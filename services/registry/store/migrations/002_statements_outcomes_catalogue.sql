-- Signed statements: each code gets a position in the published revocation status list.
CREATE SEQUENCE status_list_index_seq MINVALUE 0 START 0;
ALTER TABLE verification_codes
    ADD COLUMN status_list_index bigint UNIQUE DEFAULT nextval('status_list_index_seq'),
    ADD COLUMN statement text,
    ADD COLUMN revoked_by text;
CREATE INDEX verification_codes_holder_ref ON verification_codes (holder_ref, verified_at);

-- Ed25519 signing keys; private keys only ever stored encrypted (PKCS#8, scrypt + AES).
CREATE TABLE signing_keys (
    kid text PRIMARY KEY,
    public_jwk jsonb NOT NULL,
    encrypted_private_key bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    retired_at timestamptz
);
-- At most one current key.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys ((true)) WHERE retired_at IS NULL;

-- Outcomes for the regions, from verification.verdicts.v1; cursor order is commit order
-- because writers serialise on an advisory lock.
CREATE TABLE outcomes (
    cursor bigserial PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    request_id uuid NOT NULL,
    region text NOT NULL,
    qualification_id text NOT NULL,
    holder_ref text NOT NULL,
    verdict text NOT NULL,
    verification_code text,
    decided_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outcomes_region_cursor ON outcomes (region, cursor);

-- Every lookup of personal data: who, when, which code or holder, from where.
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    peer text NOT NULL,
    action text NOT NULL,
    code text,
    holder_ref text,
    outcome text NOT NULL
);

-- The catalogue as the system of record. Nothing is deleted: withdrawals are rows.
CREATE TABLE editions (
    id text PRIMARY KEY,
    title_zh text NOT NULL,
    document_number text,
    effective_from date,  -- unknown for editions known only as the one replaced
    replaces text REFERENCES editions (id),
    replaced_on date,
    document jsonb NOT NULL  -- the edition's facts and its lists, as published
);

CREATE TABLE awarding_bodies (
    id text PRIMARY KEY,
    name text NOT NULL,
    aliases text[] NOT NULL,
    country text NOT NULL
);

CREATE TABLE qualifications (
    edition_id text NOT NULL REFERENCES editions (id),
    id text NOT NULL,
    name text NOT NULL,
    body_ids text[] NOT NULL,
    fields text[] NOT NULL,
    document jsonb NOT NULL,  -- the qualification as in the edition file
    PRIMARY KEY (edition_id, id)
);

CREATE TABLE qualification_withdrawals (
    id bigserial PRIMARY KEY,
    edition_id text NOT NULL,
    qualification_id text NOT NULL,
    withdrawn_on date NOT NULL,
    reason text NOT NULL,
    withdrawn_by text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (edition_id, qualification_id),
    FOREIGN KEY (edition_id, qualification_id) REFERENCES qualifications (edition_id, id)
);

CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    topic text NOT NULL,
    key bytea,
    value bytea NOT NULL,
    headers jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
