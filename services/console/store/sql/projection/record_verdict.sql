-- A decision (the verifier's verdict, or the registry's conclusion, which repeats it); should a
-- request ever have two, the earlier stands. A decision already recorded is left untouched,
-- so the conclusion after the verdict rewrites no row.
INSERT INTO flow_requests AS r (
    request_id, employer_id, region, qualification_id, verdict, reason, checks, decided_at)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::timestamptz)
ON CONFLICT (request_id) DO UPDATE SET
    employer_id = COALESCE(r.employer_id, EXCLUDED.employer_id),
    region = COALESCE(r.region, EXCLUDED.region),
    qualification_id = COALESCE(r.qualification_id, EXCLUDED.qualification_id),
    verdict = CASE WHEN r.reason IS NULL OR EXCLUDED.decided_at < r.decided_at
                   THEN EXCLUDED.verdict ELSE r.verdict END,
    reason = CASE WHEN r.reason IS NULL OR EXCLUDED.decided_at < r.decided_at
                  THEN EXCLUDED.reason ELSE r.reason END,
    checks = CASE WHEN r.reason IS NULL OR EXCLUDED.decided_at < r.decided_at
                  THEN EXCLUDED.checks ELSE r.checks END,
    decided_at = LEAST(r.decided_at, EXCLUDED.decided_at),
    updated_at = now()
WHERE r.reason IS NULL OR EXCLUDED.decided_at < r.decided_at
