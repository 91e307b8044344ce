"""The qualification catalogue: data, domain model, loader and search (no other I/O)."""
