-- Operators list the enquiries still awaiting an answer, by deadline.
CREATE INDEX enquiries_open ON enquiries (due_at) WHERE answer IS NULL;
