-- A request as intake accepted it: its stage timestamps keep the earliest seen.
INSERT INTO flow_requests AS r (
    request_id, employer_id, region, qualification_id, body_ids,
    holder_name_masked, holder_name_sealed, accepted_at)
VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8::timestamptz)
ON CONFLICT (request_id) DO UPDATE SET
    employer_id = EXCLUDED.employer_id,
    region = EXCLUDED.region,
    qualification_id = EXCLUDED.qualification_id,
    body_ids = EXCLUDED.body_ids,
    holder_name_masked = COALESCE(r.holder_name_masked, EXCLUDED.holder_name_masked),
    holder_name_sealed = COALESCE(r.holder_name_sealed, EXCLUDED.holder_name_sealed),
    accepted_at = LEAST(r.accepted_at, EXCLUDED.accepted_at),
    updated_at = now()
