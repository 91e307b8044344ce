"""Where the console's schema migrations live."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
