-- Enquiries still awaiting their body's answer, of requests not yet decided; the most urgent
-- first. $1: one body's only (NULL: every body); $2: at most this many; $3: only this one
-- (NULL: any). `total` counts them all.
SELECT e.reference, e.request_id, e.body_id, e.sent_at, e.due_at, count(*) OVER () AS total
FROM enquiries e
JOIN work w ON w.request_id = e.request_id
WHERE e.answer IS NULL
  AND w.state <> 'decided'
  AND ($1::text IS NULL OR e.body_id = $1)
  AND ($3::text IS NULL OR e.reference = $3)
ORDER BY e.due_at, e.reference
LIMIT $2
