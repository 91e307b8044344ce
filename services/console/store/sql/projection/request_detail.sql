SELECT request_id, employer_id, qualification_id, region, body_ids, holder_name_masked,
       holder_name_sealed, accepted_at, waiting_at, parked_at, decided_at,
       notified_at, stage, stage_note::text AS stage_note, expected_completion_at,
       verdict, reason::text AS reason, checks::text AS checks
FROM flow_requests
WHERE request_id = $1
