-- One check of client $1 against $3 checks per $2-second window, counted only if admitted.
-- Sliding window counter: the previous window's hits weigh as much as that window still
-- overlaps the last $2 seconds. The row lock of the upsert makes concurrent checks of one
-- client (on any replica) admit no more than the budget. PostgreSQL's clock is the one clock.
WITH clock AS (
    SELECT extract(epoch FROM clock_timestamp())::float8 / $2 AS at
), position AS (
    SELECT floor(at)::bigint AS window_no, at - floor(at) AS elapsed FROM clock
), seen AS (
    SELECT p.window_no, p.elapsed,
        coalesce((SELECT h.hits FROM public_check_hits h
                  WHERE h.client_key = $1 AND h.window_no = p.window_no - 1), 0) AS previous
    FROM position p
), hit AS (
    INSERT INTO public_check_hits AS h (client_key, window_no, hits)
    SELECT $1, s.window_no, 1 FROM seen s WHERE s.previous * (1 - s.elapsed) + 1 <= $3
    ON CONFLICT (client_key, window_no) DO UPDATE SET hits = h.hits + 1
    WHERE h.hits + 1 + (SELECT s.previous * (1 - s.elapsed) FROM seen s) <= $3
    RETURNING h.hits
)
SELECT EXISTS (SELECT 1 FROM hit) AS admitted, s.window_no, s.elapsed, s.previous,
    coalesce((SELECT h.hits FROM public_check_hits h
              WHERE h.client_key = $1 AND h.window_no = s.window_no), 0) AS current
FROM seen s
