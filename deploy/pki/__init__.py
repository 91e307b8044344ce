"""Development public-key infrastructure for the registry's mutual TLS."""
