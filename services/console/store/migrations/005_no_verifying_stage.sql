-- The verifier no longer announces that it took a request on (issue 12: no `verifying`
-- progress event), so the stage's timestamp and the first estimate it carried are gone. A
-- request is "accepted" until the verifier waits on a body or decides.
ALTER TABLE flow_requests
    DROP COLUMN verifying_at,
    DROP COLUMN promised_seconds,
    DROP COLUMN promised_at;
