-- The notifier published the outcome to the regions: the request is notified.
INSERT INTO flow_requests AS r (
    request_id, region, qualification_id, verdict, decided_at, notified_at)
VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz)
ON CONFLICT (request_id) DO UPDATE SET
    region = COALESCE(r.region, EXCLUDED.region),
    qualification_id = COALESCE(r.qualification_id, EXCLUDED.qualification_id),
    verdict = COALESCE(r.verdict, EXCLUDED.verdict),
    decided_at = LEAST(r.decided_at, EXCLUDED.decided_at),
    notified_at = LEAST(r.notified_at, EXCLUDED.notified_at),
    updated_at = now()
