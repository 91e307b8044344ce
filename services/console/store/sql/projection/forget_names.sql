-- Personal data kept no longer than needed: the sealed names of requests accepted before $1
-- (the masked form stays).
UPDATE flow_requests SET holder_name_sealed = NULL
WHERE holder_name_sealed IS NOT NULL AND accepted_at < $1::timestamptz
