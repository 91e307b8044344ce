-- Webhook signing secrets crossed Kafka in clear until now, so they are treated as leaked.
-- The clear values go; each endpoint left without a secret gets a new one, sealed (AES-GCM),
-- from WebhookSettingsStore.rotate_leaked_secrets at intake's start, which also republishes
-- the configuration so the compacted topic's latest record carries no clear secret.
ALTER TABLE webhook_endpoints RENAME COLUMN secret TO sealed_secret;
ALTER TABLE webhook_endpoints ALTER COLUMN sealed_secret DROP NOT NULL;
UPDATE webhook_endpoints SET sealed_secret = NULL WHERE sealed_secret NOT LIKE 'v1.%';
ALTER TABLE webhook_endpoints
    ADD CONSTRAINT webhook_secret_sealed CHECK (sealed_secret LIKE 'v1.%');
