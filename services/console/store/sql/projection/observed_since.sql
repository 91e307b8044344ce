-- Since when the console has seen requests: what "never verified" is measured against.
SELECT min(accepted_at) FROM flow_requests
