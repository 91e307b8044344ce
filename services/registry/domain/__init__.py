"""Pure core of the registry: verification codes, verifications and the errors they raise."""
