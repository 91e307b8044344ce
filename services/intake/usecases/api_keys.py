"""An employer's API keys, managed by its admins: created with a name (the key is shown once),
listed, revoked."""

from dataclasses import dataclass

from services.intake.domain.account_rules import Message, Refusals, check_name
from services.intake.domain.accounts import WebUser
from services.intake.store.accounts import AccountStore, ApiKeyListing
from services.intake.store.repository import IntakeStore


@dataclass(frozen=True)
class NewApiKey:
    key_id: str
    name: str
    api_key: str  # shown once, never stored


async def create_api_key(
    store: IntakeStore, accounts: AccountStore, admin: WebUser, name: str
) -> NewApiKey | Refusals:
    if problem := check_name(name, Message("key's name", "密钥名称")):
        return {"name": problem}
    key_id, api_key = await store.issue_api_key(admin.employer_id, name.strip(), admin.user_id)
    await accounts.audit(
        "api-key-created",
        "success",
        employer_id=admin.employer_id,
        user_id=admin.user_id,
        target=key_id,
    )
    return NewApiKey(key_id, name.strip(), api_key)


async def api_keys(accounts: AccountStore, admin: WebUser) -> list[ApiKeyListing]:
    return await accounts.api_keys_of(admin.employer_id)


async def revoke_api_key(accounts: AccountStore, admin: WebUser, key_id: str) -> bool:
    """False when the employer has no such key still in use."""
    revoked = await accounts.revoke_api_key(admin.employer_id, key_id)
    await accounts.audit(
        "api-key-revoked",
        "success" if revoked else "not-found",
        employer_id=admin.employer_id,
        user_id=admin.user_id,
        target=key_id[:32],
    )
    return revoked
