-- Per body: how many enquiries await its answer, and the earliest deadline among them.
SELECT e.body_id, count(*) AS open, min(e.due_at) AS next_due_at
FROM enquiries e
JOIN work w ON w.request_id = e.request_id
WHERE e.answer IS NULL AND w.state <> 'decided'
GROUP BY e.body_id
