"""PostgreSQL adapter of the registry (schema `registry`)."""

from pathlib import Path

SCHEMA = "registry"
MIGRATIONS = Path(__file__).parent / "migrations"
