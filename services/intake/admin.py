"""Operator commands of intake: `python -m services.intake.admin register-employer ...`, and
`approve-employer` / `reject-employer`, the console's approval when no console is at hand."""

import argparse
import asyncio
import getpass
import json
from typing import Any

from services.intake.domain.errors import Refusal
from services.intake.domain.identifiers import is_valid_credit_code
from services.intake.settings import IntakeDatabaseSettings, IntakeOperatorSettings
from services.intake.store.employer_review import EmployerReviewStore
from services.intake.store.repository import MIGRATIONS, IntakeStore
from services.intake.usecases.approving import Approving
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.secret_box import SecretBox


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


async def decide_employer(
    credit_code: str,
    operator: str,
    reason: str | None = None,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Approve (no reason) or reject a pending employer, as the console does: its admins are
    mailed in the same transaction. Raises `Refusal` (unknown, not pending, no reason)."""
    settings = IntakeOperatorSettings()
    box = SecretBox.at_start("intake admin")  # seals the mail's address, as intake does
    pool = await create_pool(
        database_url or settings.database_url, settings.schema_name, max_size=2
    )
    try:
        await apply_migrations(pool, read_migrations(MIGRATIONS))
        approving = Approving(EmployerReviewStore(pool), box, settings.web_base_url + "/sign-in")
        employer_id = await approving.employer_with_credit_code(credit_code)
        if reason is None:
            decided = await approving.approve(employer_id, operator)
        else:
            decided = await approving.reject(employer_id, operator, reason)
    finally:
        await pool.close()
    return {
        "employer_id": str(decided.id),
        "name": decided.name,
        "status": decided.status.value,
        "decided_by": decided.decided_by,
    }


def _refusal_line(refusal: Refusal) -> str:
    problems = "; ".join(f"{p.detail_en} / {p.detail_zh}" for p in refusal.problems)
    return f"{refusal.title_en} / {refusal.title_zh}" + (f": {problems}" if problems else "")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.intake.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    register = commands.add_parser(
        "register-employer", help="register an employer, issue an API key"
    )
    register.add_argument("--credit-code", required=True, help="unified social credit code")
    register.add_argument("--name", required=True)
    operator = f"cli:{getpass.getuser()}"
    approve = commands.add_parser(
        "approve-employer", help="approve an employer waiting for approval; its admins are mailed"
    )
    approve.add_argument("--credit-code", required=True, help="unified social credit code")
    approve.add_argument("--operator", default=operator, help=f"recorded as deciding ({operator})")
    reject = commands.add_parser(
        "reject-employer", help="reject an employer waiting for approval, with the reason mailed"
    )
    reject.add_argument("--credit-code", required=True, help="unified social credit code")
    reject.add_argument("--reason", required=True, help="told to the employer")
    reject.add_argument("--operator", default=operator, help=f"recorded as deciding ({operator})")
    args = parser.parse_args()
    try:
        if args.command == "register-employer":
            result: dict[str, Any] = asyncio.run(register_employer(args.credit_code, args.name))
        else:
            reason = args.reason if args.command == "reject-employer" else None
            result = asyncio.run(decide_employer(args.credit_code, args.operator, reason))
    except InvalidCreditCode as error:
        raise SystemExit(str(error)) from None
    except Refusal as refusal:
        raise SystemExit(_refusal_line(refusal)) from None
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
