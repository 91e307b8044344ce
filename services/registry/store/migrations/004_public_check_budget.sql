-- The public check's budget per client, shared by every registry replica (store/check_budget.py).
-- UNLOGGED: a counter lives one window or two, so writing each check to the WAL (and shipping it
-- to the standbys) buys nothing; after a crash or a failover the table starts empty, which
-- gives clients at most one fresh window. The key is an HMAC of the client's address, never
-- the address itself.
CREATE UNLOGGED TABLE public_check_hits (
    client_key bytea NOT NULL,
    window_no bigint NOT NULL,
    hits integer NOT NULL,
    PRIMARY KEY (client_key, window_no)
);
