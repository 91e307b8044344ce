-- Every request the verifier has taken on, until its verdict: what lets another verifier
-- finish the work of one that died (an expired lease), and where parked requests wait.
CREATE TABLE work (
    request_id uuid PRIMARY KEY,
    request jsonb NOT NULL,
    traceparent text,
    state text NOT NULL DEFAULT 'active',  -- active | parked | decided
    owner text NOT NULL,
    lease_until timestamptz NOT NULL,
    answers jsonb NOT NULL DEFAULT '[]',  -- answers already in when the request was parked
    park_deadline timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX work_unfinished ON work (lease_until) WHERE state <> 'decided';

-- Enquiries sent to bodies that answer later (e-mail, telephone).
CREATE TABLE enquiries (
    reference text PRIMARY KEY,
    request_id uuid NOT NULL,
    body_id text NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    due_at timestamptz NOT NULL,
    answer jsonb,
    answered_at timestamptz
);
CREATE INDEX enquiries_by_request ON enquiries (request_id);

ALTER TABLE evidence
    ADD COLUMN asked text NOT NULL DEFAULT '',
    ADD COLUMN asked_at timestamptz,
    ADD COLUMN seconds double precision,
    ADD COLUMN attempts integer;
