-- Per body: how many enquiries await its answer, how many of them are past their deadline,
-- and the earliest deadline among them.
SELECT e.body_id, count(*) AS open, count(*) FILTER (WHERE e.due_at <= now()) AS overdue,
       min(e.due_at) AS next_due_at
FROM enquiries e
JOIN work w ON w.request_id = e.request_id
WHERE e.answer IS NULL AND w.state <> 'decided'
GROUP BY e.body_id
