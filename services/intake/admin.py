"""Operator commands of intake: `python -m services.intake.admin register-employer ...`."""

import argparse
import asyncio
import json

from services.intake.domain.identifiers import is_valid_credit_code
from services.intake.settings import IntakeDatabaseSettings
from services.intake.store.repository import MIGRATIONS, IntakeStore
from services.runtime.db import apply_migrations, create_pool, read_migrations


class InvalidCreditCode(ValueError):
    pass


async def register_employer(
    credit_code: str, name: str, database_url: str | None = None
) -> dict[str, str]:
    """Register (or find) an employer and issue it a new API key."""
    if not is_valid_credit_code(credit_code):
        raise InvalidCreditCode(
            f"not a valid unified social credit code (GB 32100-2015): {credit_code}"
        )
    settings = IntakeDatabaseSettings()  # no service secrets needed here
    dsn = database_url or settings.database_url
    pool = await create_pool(dsn, settings.schema_name, max_size=2)
    try:
        await apply_migrations(pool, read_migrations(MIGRATIONS))
        employer_id, api_key = await IntakeStore(pool).create_employer(credit_code, name)
    finally:
        await pool.close()
    return {"employer_id": str(employer_id), "api_key": api_key}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.intake.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    register = commands.add_parser(
        "register-employer", help="register an employer, issue an API key"
    )
    register.add_argument("--credit-code", required=True, help="unified social credit code")
    register.add_argument("--name", required=True)
    args = parser.parse_args()
    try:
        result = asyncio.run(register_employer(args.credit_code, args.name))
    except InvalidCreditCode as error:
        raise SystemExit(str(error)) from None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
