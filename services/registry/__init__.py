"""The registry: system of record for verification codes (gRPC) and the qualification catalogue."""
