"""Console accounts from the command line: `python -m services.console.admin add-operator ...`.

The password is read from standard input (one line), never from the command line, where other
users of the machine could read it in the process list.
"""

import argparse
import asyncio
import sys

from services.console.domain.roles import Role
from services.console.settings import ConsoleDatabaseSettings
from services.console.store.accounts import Accounts
from services.console.store.paths import MIGRATIONS
from services.console.usecases.sign_in import WeakPassword, add_operator
from services.runtime.db import apply_migrations, create_pool, read_migrations


async def add(
    username: str, display_name: str, role: Role, password: str, database_url: str | None = None
) -> None:
    """Creates the account, or resets its role, name and password and unlocks it."""
    settings = ConsoleDatabaseSettings()  # no service secrets needed here
    dsn = database_url or settings.database_url
    pool = await create_pool(dsn, settings.schema_name, max_size=2)
    try:
        await apply_migrations(pool, read_migrations(MIGRATIONS))
        await add_operator(Accounts(pool), username, display_name, role, password)
    finally:
        await pool.close()


async def disable(username: str) -> bool:
    settings = ConsoleDatabaseSettings()
    pool = await create_pool(settings.database_url, settings.schema_name, max_size=2)
    try:
        await apply_migrations(pool, read_migrations(MIGRATIONS))
        return await Accounts(pool).disable(username)
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.console.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    adding = commands.add_parser(
        "add-operator", help="create or reset a console account; password on standard input"
    )
    adding.add_argument("username")
    adding.add_argument("--name", help="display name (default: the username)")
    adding.add_argument("--role", choices=[r.value for r in Role], default=Role.OPERATOR.value)
    disabling = commands.add_parser("disable", help="disable an account and end its sessions")
    disabling.add_argument("username")
    args = parser.parse_args()
    if args.command == "disable":
        if not asyncio.run(disable(args.username)):
            raise SystemExit(f"no such account: {args.username}")
        return
    password = sys.stdin.readline().rstrip("\n")
    try:
        asyncio.run(add(args.username, args.name or args.username, Role(args.role), password))
    except WeakPassword as error:
        raise SystemExit(str(error)) from None
    print(f"account {args.username} ({args.role}) ready")


if __name__ == "__main__":
    main()
