-- Webhook secrets are stored sealed (AES-GCM, as they arrive on employer.webhooks.v1). Secrets
-- stored in clear before are sealed in place at start (NotifierStore.seal_clear_secrets);
-- intake rotates them, as they had travelled in clear, and the old one keeps signing for the
-- usual grace period.
ALTER TABLE webhook_endpoints RENAME COLUMN secret TO sealed_secret;
ALTER TABLE webhook_endpoints RENAME COLUMN previous_secret TO sealed_previous_secret;
