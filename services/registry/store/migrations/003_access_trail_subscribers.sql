-- The operators' trail of access to one code: entries by code, and by holder (a listing of a
-- holder's verifications reaches each of their codes).
CREATE INDEX audit_log_code_trail ON audit_log (code, id) WHERE code IS NOT NULL;
CREATE INDEX audit_log_holder_trail ON audit_log (holder_ref, id) WHERE holder_ref IS NOT NULL;

-- One row per StreamOutcomes subscription. The registry keeps the open ones in memory and
-- writes their progress about once a second, and on disconnect; a registry that dies leaves
-- its rows unclosed, and last_seen_at tells they are gone.
CREATE TABLE outcome_subscribers (
    id bigserial PRIMARY KEY,
    region text NOT NULL CHECK (region IN ('beijing', 'tianjin', 'hebei')),
    identity text NOT NULL,
    peer text NOT NULL,
    after_cursor bigint NOT NULL CHECK (after_cursor >= 0),
    last_cursor bigint NOT NULL CHECK (last_cursor >= 0),
    delivered bigint NOT NULL DEFAULT 0,
    connected_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    disconnected_at timestamptz
);
CREATE INDEX outcome_subscribers_recent ON outcome_subscribers (last_seen_at DESC);
CREATE INDEX outcome_subscribers_closed ON outcome_subscribers (disconnected_at)
    WHERE disconnected_at IS NOT NULL;
