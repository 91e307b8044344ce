-- What operators did with each parked record: one action per record of a dead-letter topic
-- (the primary key refuses a second replay or discard of the same record).
CREATE TABLE dead_letter_actions (
    topic      text NOT NULL,
    partition  integer NOT NULL,
    "offset"   bigint NOT NULL,
    action     text NOT NULL CHECK (action IN ('replayed', 'discarded')),
    actor      text NOT NULL,
    reason     text,
    acted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, "offset"),
    CHECK (action <> 'discarded' OR length(btrim(reason)) > 0)
);
