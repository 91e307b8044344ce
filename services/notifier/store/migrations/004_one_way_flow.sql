-- Event ids are now claimed by the consumption middleware (consumed_events, in the handler's
-- transaction), so the notifier's own record of processed events is no longer read.
DROP TABLE processed_events;

-- When a delivery last changed, set after its row lock is held: the employer's delivery log
-- (DeliveryUpdated on employer.deliveries.v1) keeps the latest, whatever order it arrives in.
ALTER TABLE deliveries ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
