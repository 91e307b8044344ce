-- The registry issues codes from the verdicts it consumes; the verifier never holds one.
ALTER TABLE verdicts DROP COLUMN verification_code;
