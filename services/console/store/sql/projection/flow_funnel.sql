-- The funnel over the requests accepted since $1: how many reached each stage, and how many
-- are in each now (the rule of domain.flow.RequestFlow.current).
SELECT count(*) AS accepted_reached,
       count(*) FILTER (WHERE waiting_at IS NOT NULL OR parked_at IS NOT NULL)
           AS waiting_for_body_reached,
       count(decided_at) AS decided_reached,
       count(notified_at) AS notified_reached,
       count(*) FILTER (WHERE notified_at IS NOT NULL) AS notified_now,
       count(*) FILTER (WHERE notified_at IS NULL AND decided_at IS NOT NULL) AS decided_now,
       count(*) FILTER (
           WHERE notified_at IS NULL AND decided_at IS NULL
             AND stage IN ('waiting_for_body', 'parked')) AS waiting_for_body_now
FROM flow_requests
WHERE accepted_at >= $1::timestamptz
