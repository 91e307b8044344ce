-- The broker's offsets sampled every few seconds (the console's own time series): rates in
-- and out, and lag over time, come from consecutive samples. Old samples are deleted by the
-- sampler (CONSOLE_SAMPLE_RETENTION_HOURS); their rows go with them.
CREATE TABLE kafka_samples (
    sample_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sampled_at  timestamptz NOT NULL UNIQUE
);

CREATE TABLE topic_offset_samples (
    sample_id     bigint NOT NULL REFERENCES kafka_samples ON DELETE CASCADE,
    topic         text NOT NULL,
    partition     integer NOT NULL,
    start_offset  bigint NOT NULL,
    end_offset    bigint NOT NULL,
    PRIMARY KEY (sample_id, topic, partition)
);

-- `position`: the committed offset, or the log start where the group has committed nothing.
-- `lag_seconds`: the age of the oldest record not consumed; NULL when it could not be read.
CREATE TABLE group_offset_samples (
    sample_id    bigint NOT NULL REFERENCES kafka_samples ON DELETE CASCADE,
    group_id     text NOT NULL,
    topic        text NOT NULL,
    partition    integer NOT NULL,
    position     bigint NOT NULL,
    lag          bigint NOT NULL,
    lag_seconds  double precision,
    PRIMARY KEY (sample_id, group_id, topic, partition)
);
