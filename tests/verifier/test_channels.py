"""Each channel adapter against the awarding-body simulator over real HTTP and SMTP: the
authentic and failing paths, retries, Retry-After, the circuit breaker and the deadline."""

import asyncio
import time
from datetime import datetime

import httpx
import pytest

from services.contracts.events import Verdict
from services.reference.channels import ChannelType
from services.verifier.channels.contact import BodyContacts, Channel, Contacted
from services.verifier.channels.credential_api import CredentialApiChannel
from services.verifier.channels.enquiry import EnquiryChannel, valid_signature
from services.verifier.channels.guard import HostGuard
from services.verifier.channels.http_clients import BodyClients
from services.verifier.channels.register import PublicRegisterChannel
from services.verifier.channels.signed_credential import SignedCredentialChannel
from services.verifier.domain.verdicts import BodyStatus, decide
from simulator.population import find, unknown_certificate_number
from simulator.server import RunningSimulator
from tests.verifier.support import (
    CALLBACK_SECRET,
    SEED,
    channel_book,
    clear_faults,
    request_for,
    requests_seen,
    set_faults,
)


def contacts_for(
    simulator: RunningSimulator,
    http: httpx.AsyncClient,
    bodies: dict[str, str],
    signed: SignedCredentialChannel | None = None,
    **overrides: object,
) -> BodyContacts:
    channels: dict[ChannelType, Channel] = {
        ChannelType.CREDENTIAL_API: CredentialApiChannel(BodyClients()),
        ChannelType.PUBLIC_REGISTER: PublicRegisterChannel(BodyClients()),
        ChannelType.SIGNED_CREDENTIAL: signed
        or SignedCredentialChannel(http, HostGuard(["127.0.0.1"])),
        ChannelType.ASYNC_ENQUIRY: EnquiryChannel(
            "127.0.0.1", simulator.smtp_port, "http://127.0.0.1:1", "verify@test.local"
        ),
    }
    return BodyContacts(
        channel_book(bodies, **overrides), simulator.base_url, channels, backoff_base=0.05
    )


async def ask(
    contacts: BodyContacts, body: str, number: str, name: str, **fields: str
) -> Contacted:
    return await contacts.ask(body, request_for([body], number, name, fields))


# ---------------------------------------------------------------- credential API


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("authentic", BodyStatus.CONFIRMED),
        ("revoked", BodyStatus.REVOKED),
        ("expired", BodyStatus.EXPIRED),
    ],
)
async def test_credential_api_answers(
    simulator: RunningSimulator, http: httpx.AsyncClient, kind: str, status: BodyStatus
) -> None:
    contacts = contacts_for(simulator, http, {"api-a": "credential_api"})
    cert = find(SEED, "api-a", kind)  # type: ignore[arg-type]
    contacted = await ask(contacts, "api-a", cert.certificate_number, cert.claimed_name)
    assert contacted.answer.status == status
    assert contacted.answer.registered_name == cert.holder_name
    assert contacted.answer.answer_digest and "credentials/" in contacted.answer.asked
    expected = Verdict.AUTHENTIC if kind == "authentic" else Verdict.NOT_AUTHENTIC
    assert decide([contacted.answer], cert.claimed_name).verdict == expected


async def test_credential_api_unknown_number_is_not_found_without_retry(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    contacts = contacts_for(simulator, http, {"api-a": "credential_api"})
    contacted = await ask(contacts, "api-a", unknown_certificate_number("api-a"), "Li Na")
    assert contacted.answer.status == BodyStatus.NOT_FOUND
    assert contacted.attempts == 1


async def test_a_wrong_api_key_is_permanent_and_never_authentic(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    contacts = contacts_for(simulator, http, {"api-a": "credential_api"}, api_key="wrong")
    cert = find(SEED, "api-a")
    contacted = await ask(contacts, "api-a", cert.certificate_number, cert.claimed_name)
    assert contacted.answer.status == BodyStatus.UNREACHABLE
    assert "401" in contacted.answer.detail and contacted.attempts == 1


async def test_server_errors_are_retried_then_could_not_check(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    await set_faults(simulator.base_url, "api-errors", error_rate=1.0)
    contacts = contacts_for(simulator, http, {"api-errors": "credential_api"})
    cert = find(SEED, "api-errors")
    contacted = await ask(contacts, "api-errors", cert.certificate_number, cert.claimed_name)
    assert contacted.answer.status == BodyStatus.UNREACHABLE
    assert contacted.attempts == 3 and "HTTP 500" in contacted.answer.detail
    assert decide([contacted.answer], cert.claimed_name).verdict == Verdict.UNABLE_TO_VERIFY


async def test_a_malformed_answer_is_could_not_check(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    await set_faults(simulator.base_url, "api-malformed", malformed_rate=1.0)
    contacts = contacts_for(simulator, http, {"api-malformed": "credential_api"})
    cert = find(SEED, "api-malformed")
    contacted = await ask(contacts, "api-malformed", cert.certificate_number, cert.claimed_name)
    assert contacted.answer.status == BodyStatus.UNREACHABLE
    assert "malformed" in contacted.answer.detail


async def test_rate_limits_are_waited_out_honouring_retry_after(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    await set_faults(simulator.base_url, "api-limited", rate_limit_per_second=2, rate_limit_burst=1)
    contacts = contacts_for(simulator, http, {"api-limited": "credential_api"})
    certs = [find(SEED, "api-limited", nth=n) for n in range(3)]
    started = time.perf_counter()
    answers = await asyncio.gather(
        *(ask(contacts, "api-limited", c.certificate_number, c.claimed_name) for c in certs)
    )
    elapsed = time.perf_counter() - started
    assert [a.answer.status for a in answers] == [BodyStatus.CONFIRMED] * 3
    assert any(a.attempts > 1 for a in answers)
    assert elapsed >= 0.9  # three requests at two a second, burst of one: Retry-After honoured


async def test_the_breaker_stops_hammering_and_requests_wait_instead_of_failing(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    body = "api-breaker"
    await set_faults(simulator.base_url, body, outage=True)
    contacts = contacts_for(
        simulator,
        http,
        {body: "credential_api"},
        failure_threshold=2,
        open_seconds=1.0,
        max_attempts=3,
        deadline_seconds=10,
    )
    cert = find(SEED, body)
    notices: list[tuple[str, datetime]] = []

    async def on_wait(body_id: str, expected: datetime) -> None:
        notices.append((body_id, expected))

    async def recover() -> None:
        await asyncio.sleep(0.5)
        await clear_faults(simulator.base_url, body)

    request = request_for([body], cert.certificate_number, cert.claimed_name)
    first = asyncio.create_task(contacts.ask(body, request, on_wait))
    while not contacts.breaker_of(body).is_open:
        await asyncio.sleep(0.01)
    recovery = asyncio.create_task(recover())
    later = [contacts.ask(body, request, on_wait) for _ in range(4)]
    results = [await first, *await asyncio.gather(*later)]
    await recovery
    assert [r.answer.status for r in results] == [BodyStatus.CONFIRMED] * 5
    assert notices and notices[0][0] == body
    # Two failures opened the breaker; after the wait one probe and then the rest: no hammering.
    assert await requests_seen(simulator.base_url, body) <= 2 + 5


async def test_past_the_deadline_a_body_that_stays_down_cannot_be_checked(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    body = "api-down"
    await set_faults(simulator.base_url, body, outage=True)
    contacts = contacts_for(
        simulator,
        http,
        {body: "credential_api"},
        failure_threshold=1,
        open_seconds=5,
        deadline_seconds=0.8,
    )
    cert = find(SEED, body)
    contacted = await ask(contacts, body, cert.certificate_number, cert.claimed_name)
    assert contacted.answer.status == BodyStatus.UNREACHABLE
    assert "deadline" in contacted.answer.detail
    assert contacted.seconds < 2


async def test_three_bodies_take_as_long_as_the_slowest_not_the_sum(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    delays = {"par-a": 300, "par-b": 500, "par-c": 800}
    for body, ms in delays.items():
        await set_faults(simulator.base_url, body, latency_median_ms=ms, latency_p99_ms=ms)
    contacts = contacts_for(simulator, http, dict.fromkeys(delays, "credential_api"))
    cert = find(SEED, "par-a")
    started = time.perf_counter()
    contacted = await contacts.ask_all(
        request_for(list(delays), cert.certificate_number, cert.claimed_name)
    )
    elapsed = time.perf_counter() - started
    assert {c.answer.body_id for c in contacted} == set(delays)
    assert 0.75 <= elapsed < 1.3, elapsed  # the sum would be 1.6 s


# ---------------------------------------------------------------- public register


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("authentic", BodyStatus.CONFIRMED),
        ("name_pinyin_order_variant", BodyStatus.CONFIRMED),
        ("revoked", BodyStatus.REVOKED),
        ("expired", BodyStatus.EXPIRED),
    ],
)
async def test_public_register_finds_the_member(
    simulator: RunningSimulator, http: httpx.AsyncClient, kind: str, status: BodyStatus
) -> None:
    contacts = contacts_for(simulator, http, {"reg-a": "public_register"})
    cert = find(SEED, "reg-a", kind)  # type: ignore[arg-type]
    contacted = await ask(contacts, "reg-a", cert.certificate_number, cert.claimed_name)
    assert contacted.answer.status == status, contacted.answer.detail
    assert contacted.answer.registered_name == cert.holder_name
    assert contacted.answer.answer_digest


async def test_public_register_without_the_member_is_not_found(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    contacts = contacts_for(simulator, http, {"reg-a": "public_register"})
    contacted = await ask(contacts, "reg-a", unknown_certificate_number("reg-a"), "Olivia Nguyen")
    assert contacted.answer.status == BodyStatus.NOT_FOUND


async def test_changed_register_markup_fails_clearly_and_is_never_authentic(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    await set_faults(simulator.base_url, "reg-v2", markup_changed=True)
    contacts = contacts_for(simulator, http, {"reg-v2": "public_register"})
    cert = find(SEED, "reg-v2")
    contacted = await ask(contacts, "reg-v2", cert.certificate_number, cert.claimed_name)
    assert contacted.answer.status == BodyStatus.UNREACHABLE
    assert "unreadable" in contacted.answer.detail and "v2" in contacted.answer.detail
    decision = decide([contacted.answer], cert.claimed_name)
    assert decision.verdict == Verdict.UNABLE_TO_VERIFY
    assert "unreadable" in decision.checks[0].reason


# ---------------------------------------------------------------- signed credentials


async def credential_jwt(
    simulator: RunningSimulator, http: httpx.AsyncClient, body: str, number: str, variant: str
) -> str:
    response = await http.get(
        f"{simulator.base_url}/vc/{body}/credentials/{number}.jwt", params={"variant": variant}
    )
    assert response.status_code == 200
    return response.text


@pytest.mark.parametrize(
    ("kind", "variant", "status", "detail"),
    [
        ("authentic", "genuine", BodyStatus.CONFIRMED, "signature"),
        ("authentic", "tampered", BodyStatus.SIGNATURE_INVALID, "signature"),
        ("authentic", "unknown_key", BodyStatus.UNREACHABLE, "unknown key"),
        ("expired", "genuine", BodyStatus.EXPIRED, "validity"),
        ("revoked", "genuine", BodyStatus.REVOKED, "revocation"),
    ],
)
async def test_signed_credentials_each_failure_has_its_own_reason(
    simulator: RunningSimulator,
    http: httpx.AsyncClient,
    kind: str,
    variant: str,
    status: BodyStatus,
    detail: str,
) -> None:
    contacts = contacts_for(simulator, http, {"vc-a": "signed_credential"})
    cert = find(SEED, "vc-a", kind)  # type: ignore[arg-type]
    token = await credential_jwt(simulator, http, "vc-a", cert.certificate_number, variant)
    contacted = await ask(
        contacts, "vc-a", cert.certificate_number, cert.claimed_name, credential_jwt=token
    )
    assert contacted.answer.status == status
    assert detail in contacted.answer.detail
    verdict = decide([contacted.answer], cert.claimed_name).verdict
    assert (verdict == Verdict.AUTHENTIC) == (status == BodyStatus.CONFIRMED)


async def test_a_missing_or_foreign_credential_cannot_be_checked(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    contacts = contacts_for(simulator, http, {"vc-a": "signed_credential"})
    cert = find(SEED, "vc-a")
    missing = await ask(contacts, "vc-a", cert.certificate_number, cert.claimed_name)
    assert missing.answer.status == BodyStatus.UNREACHABLE
    assert "no signed credential" in missing.answer.detail
    other = find(SEED, "vc-other")
    token = await credential_jwt(simulator, http, "vc-other", other.certificate_number, "genuine")
    foreign = await ask(
        contacts, "vc-a", other.certificate_number, other.claimed_name, credential_jwt=token
    )
    assert foreign.answer.status == BodyStatus.UNREACHABLE
    assert "issuer" in foreign.answer.detail


async def test_a_public_badge_is_fetched_from_its_issuer_by_number(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    """Credly-style Open Badges (AWS, CNCF): no credential pasted, the issuer serves it."""
    contacts = contacts_for(
        simulator, http, {"vc-a": "signed_credential"}, fetch_by_number=True, required_fields=[]
    )
    for kind, status in (("authentic", BodyStatus.CONFIRMED), ("revoked", BodyStatus.REVOKED)):
        cert = find(SEED, "vc-a", kind)  # type: ignore[arg-type]
        fetched = await ask(contacts, "vc-a", cert.certificate_number, cert.claimed_name)
        assert fetched.answer.status == status, fetched.answer.detail
    unknown = await ask(contacts, "vc-a", unknown_certificate_number("vc-a"), "LI Na")
    assert unknown.answer.status == BodyStatus.NOT_FOUND


async def test_cached_keys_and_status_list_need_no_call_to_the_issuer(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    body = "vc-cached"
    signed = SignedCredentialChannel(http, HostGuard(["127.0.0.1"]))
    contacts = contacts_for(simulator, http, {body: "signed_credential"}, signed=signed)
    certs = [find(SEED, body, nth=n) for n in range(2)]
    tokens = [
        await credential_jwt(simulator, http, body, c.certificate_number, "genuine") for c in certs
    ]
    first = await ask(
        contacts,
        body,
        certs[0].certificate_number,
        certs[0].claimed_name,
        credential_jwt=tokens[0],
    )
    assert first.answer.status == BodyStatus.CONFIRMED
    await set_faults(simulator.base_url, body, outage=True)
    seen = await requests_seen(simulator.base_url, body)
    second = await ask(
        contacts,
        body,
        certs[1].certificate_number,
        certs[1].claimed_name,
        credential_jwt=tokens[1],
    )
    assert second.answer.status == BodyStatus.CONFIRMED
    assert await requests_seen(simulator.base_url, body) == seen


async def test_an_unreachable_status_list_is_never_authentic(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    body = "vc-nolist"
    # Keys cached for long, status list not cached at all.
    signed = SignedCredentialChannel(http, HostGuard(["127.0.0.1"]), status_ttl_seconds=0)
    contacts = contacts_for(
        simulator, http, {body: "signed_credential"}, signed=signed, max_attempts=2
    )
    cert = find(SEED, body)
    token = await credential_jwt(simulator, http, body, cert.certificate_number, "genuine")
    ok = await ask(contacts, body, cert.certificate_number, cert.claimed_name, credential_jwt=token)
    assert ok.answer.status == BodyStatus.CONFIRMED
    await set_faults(simulator.base_url, body, outage=True)
    failed = await ask(
        contacts, body, cert.certificate_number, cert.claimed_name, credential_jwt=token
    )
    assert failed.answer.status == BodyStatus.UNREACHABLE
    assert "revocation status list unreachable" in failed.answer.detail


async def test_signed_credentials_from_a_non_allowed_internal_host_are_refused(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    signed = SignedCredentialChannel(http, HostGuard())  # 127.0.0.1 not allowed
    contacts = contacts_for(simulator, http, {"vc-a": "signed_credential"}, signed=signed)
    cert = find(SEED, "vc-a")
    token = await credential_jwt(simulator, http, "vc-a", cert.certificate_number, "genuine")
    contacted = await ask(
        contacts, "vc-a", cert.certificate_number, cert.claimed_name, credential_jwt=token
    )
    assert contacted.answer.status == BodyStatus.UNREACHABLE
    assert "internal address" in contacted.answer.detail


# ---------------------------------------------------------------- asynchronous enquiry


async def test_an_enquiry_is_sent_and_returns_at_once_pending(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    contacts = contacts_for(simulator, http, {"mail-a": "async_enquiry"})
    cert = find(SEED, "mail-a")
    contacted = await ask(contacts, "mail-a", cert.certificate_number, cert.claimed_name)
    assert contacted.answer.status == BodyStatus.PENDING
    assert contacted.seconds < 1
    listing = (await http.get(f"{simulator.base_url}/enquiries/mail-a")).json()["items"]
    assert contacted.answer.detail in {item["reference"] for item in listing}


async def test_an_enquiry_to_a_body_in_outage_is_retried_then_could_not_check(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    await set_faults(simulator.base_url, "mail-down", outage=True)
    contacts = contacts_for(simulator, http, {"mail-down": "async_enquiry"})
    cert = find(SEED, "mail-down")
    contacted = await ask(contacts, "mail-down", cert.certificate_number, cert.claimed_name)
    assert contacted.answer.status == BodyStatus.UNREACHABLE
    assert "SMTP 451" in contacted.answer.detail and contacted.attempts == 3


def test_callback_signatures_are_checked() -> None:
    body = b'{"reference": "x", "status": "confirmed"}'
    import hashlib
    import hmac

    good = hmac.new(CALLBACK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert valid_signature(CALLBACK_SECRET, body, good)
    assert not valid_signature(CALLBACK_SECRET, body + b" ", good)
    assert not valid_signature("other-secret", body, good)


async def test_forged_keys_do_not_make_the_verifier_flood_the_issuer(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    body = "vc-forged"
    signed = SignedCredentialChannel(http, HostGuard(["127.0.0.1"]))
    contacts = contacts_for(simulator, http, {body: "signed_credential"}, signed=signed)
    cert = find(SEED, body)
    token = await credential_jwt(simulator, http, body, cert.certificate_number, "unknown_key")
    first = await ask(
        contacts, body, cert.certificate_number, cert.claimed_name, credential_jwt=token
    )
    seen = await requests_seen(simulator.base_url, body)
    for _ in range(5):
        again = await ask(
            contacts, body, cert.certificate_number, cert.claimed_name, credential_jwt=token
        )
        assert again.answer.status == BodyStatus.UNREACHABLE
    assert first.answer.status == BodyStatus.UNREACHABLE
    assert await requests_seen(simulator.base_url, body) == seen
