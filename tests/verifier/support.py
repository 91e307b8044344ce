"""Helpers of the verifier tests: a test channel book, requests, simulator faults."""

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from services.contracts.events import CertificateClaim, HolderClaim, VerificationRequested
from services.reference.channels import DEFAULT_CHANNELS_FILE, ChannelBook
from simulator.faults import FaultConfig
from simulator.settings import SimulatorSettings

SEED = 20250101
CALLBACK_SECRET = "test-callback-secret"
OPERATOR_TOKEN = "test-operator-token"

FAST = {"timeout_seconds": 2, "max_attempts": 3, "deadline_seconds": 5, "turnaround_seconds": 1}
PROFILES: dict[str, dict[str, Any]] = {
    "credential_api": {
        "type": "credential_api",
        "endpoint": "{bodies_base_url}/credential-api/{body_id}/v1",
        "api_key": "sim-{body_id}-key",
        **FAST,
    },
    "public_register": {
        "type": "public_register",
        "endpoint": "{bodies_base_url}/register/{body_id}",
        **FAST,
    },
    "signed_credential": {
        "type": "signed_credential",
        "endpoint": "{bodies_base_url}/vc/{body_id}",
        "required_fields": ["credential_jwt"],
        **FAST,
    },
    "async_enquiry": {
        "type": "async_enquiry",
        "endpoint": "mailto:verify@{body_id}.bodies.test",
        "timeout_seconds": 2,
        "max_attempts": 3,
        "deadline_seconds": 20,
        "turnaround_seconds": 3,
    },
}


def channel_book_document() -> dict[str, Any]:
    """Bodies are named after their channel: `reg-*` registers, `vc-*` signed credentials,
    `mail-*` enquiries, anything else a credential API."""
    return {"default": PROFILES["credential_api"], "profiles": PROFILES, "bodies": {}}


def channel_book(body_types: dict[str, str], **overrides: Any) -> ChannelBook:
    document = channel_book_document()
    for body, kind in body_types.items():
        document["bodies"][body] = {**PROFILES[kind], **overrides}
    return ChannelBook.model_validate(document)


def write_channel_book(path: Path, bodies: dict[str, tuple[str, dict[str, Any]]]) -> Path:
    """The shipped book (a verifier refuses to start without every catalogue body) plus the
    test's own bodies. `bodies`: body id -> (profile, overrides of that profile)."""
    document = json.loads(DEFAULT_CHANNELS_FILE.read_text())
    document["bodies"] |= {
        body: {**PROFILES[profile], **overrides} for body, (profile, overrides) in bodies.items()
    }
    path.write_text(json.dumps(document))
    return path


def simulator_settings(**overrides: object) -> SimulatorSettings:
    values: dict[str, object] = {
        "http_port": 0,
        "smtp_port": 0,
        "seed": SEED,
        "callback_secret": CALLBACK_SECRET,
        "default_faults": FaultConfig(latency_median_ms=0, latency_p99_ms=0),
        "enquiry_delay_days": 1.0,
        "time_scale": 86400.0,  # a simulated day passes in one second
        "callback_retry_seconds": 0.2,
        "callback_attempts": 5,
    }
    values.update(overrides)
    return SimulatorSettings.model_validate(values)


def request_for(
    body_ids: list[str],
    number: str,
    name: str,
    channel_fields: dict[str, str] | None = None,
    qualification_id: str = "test-qualification",
) -> VerificationRequested:
    return VerificationRequested(
        request_id=uuid.uuid4(),
        employer_id=uuid.uuid4(),
        region="beijing",
        qualification_id=qualification_id,
        body_ids=body_ids,
        holder=HolderClaim(name=name, nationality="CHN", holder_ref=uuid.uuid4().hex),
        certificate=CertificateClaim(
            number=number, issued_on=date(2022, 1, 1), channel_fields=channel_fields or {}
        ),
    )


async def set_faults(base_url: str, body_id: str, **config: object) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.put(f"/admin/faults/{body_id}", json=config)
        assert response.status_code == 200, response.text


async def clear_faults(base_url: str, body_id: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        await client.delete(f"/admin/faults/{body_id}")


async def requests_seen(base_url: str, body_id: str) -> int:
    """How many requests the simulator answered for a body (from its metrics)."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        text = (await client.get("/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("simulator_requests_total{") and f'body="{body_id}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)
