-- Verifiers gone for an hour: no longer worth a row.
DELETE FROM verifier_replicas WHERE seen_until < now() - interval '1 hour'
