"""Credential API channel: a JSON API that answers for a credential id (cloud vendors, badges)."""

import hashlib
from dataclasses import replace
from datetime import date
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from services.contracts.events import VerificationRequested
from services.reference.channels import BodyChannel
from services.verifier.channels.errors import RateLimited, TransientChannelError
from services.verifier.channels.http_clients import BodyClients, BodyResponse
from services.verifier.domain.verdicts import BodyAnswer, BodyStatus

CHANNEL = "credential_api"

_STATUS = {
    "active": BodyStatus.CONFIRMED,
    "revoked": BodyStatus.REVOKED,
    "expired": BodyStatus.EXPIRED,
}


class _Credential(BaseModel):
    credential_id: str
    holder_name: str
    status: Literal["active", "revoked", "expired"]
    issued_on: date
    expires_on: date | None


def credential_id_of(request: VerificationRequested) -> str:
    fields = request.certificate.channel_fields
    return (
        fields.get("credential_id") or fields.get("validation_number") or request.certificate.number
    )


class CredentialApiChannel:
    def __init__(self, clients: BodyClients) -> None:
        self._clients = clients

    async def query(
        self, body_id: str, channel: BodyChannel, request: VerificationRequested
    ) -> BodyAnswer:
        url = f"{channel.endpoint}/credentials/{quote(credential_id_of(request), safe='')}"
        response = await self._clients.send(
            body_id, channel, "GET", url, headers={"Authorization": f"Bearer {channel.api_key}"}
        )
        return _answer(body_id, response)


def _answer(body_id: str, response: BodyResponse) -> BodyAnswer:
    answer = _interpret(body_id, response)
    return replace(
        answer,
        asked=f"GET {response.path}",
        answer_digest=hashlib.sha256(response.content).hexdigest(),
    )


def _interpret(body_id: str, response: BodyResponse) -> BodyAnswer:
    if response.status == 404:
        return BodyAnswer(body_id, CHANNEL, BodyStatus.NOT_FOUND, detail="no such credential")
    if response.status == 429:
        raise RateLimited(retry_after_of(response))
    if response.status >= 500:
        raise TransientChannelError(f"HTTP {response.status}")
    if response.status != 200:
        return BodyAnswer(
            body_id, CHANNEL, BodyStatus.UNREACHABLE, detail=f"HTTP {response.status}"
        )
    try:
        credential = _Credential.model_validate_json(response.content)
    except ValidationError:
        return BodyAnswer(body_id, CHANNEL, BodyStatus.UNREACHABLE, detail="malformed answer")
    return BodyAnswer(
        body_id,
        CHANNEL,
        _STATUS[credential.status],
        registered_name=credential.holder_name,
        expires_on=credential.expires_on,
    )


def retry_after_of(response: BodyResponse) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "1")), 0.0)
    except ValueError:
        return 1.0
