"""The catalogue watch against a real registry over mutual TLS (real PostgreSQL): the whole
catalogue with its use from the projection, dormant ones flagged, and a withdrawal through the
registry's operator RPC, audited; a viewer may not withdraw, a refusal is audited too."""

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from services.console.adapters.registry import RegistryOperator
from services.console.domain.registry import RegistryNotFound
from services.console.domain.roles import Operator, Role
from services.console.store.audit import AuditLog
from services.console.store.projection import Projection
from services.console.store.sealed_names import NameBox
from services.console.usecases.catalogue_watch import CatalogueWatchUse, MayNotAct
from services.contracts.events import CertificateClaim, HolderClaim, VerificationRequested
from services.registry.api.app import RunningRegistry, running_registry
from tests.infra import Infra
from tests.registry.support import registry_settings, session_pki

pytestmark = pytest.mark.integration

# A qualification no other test asks for: its withdrawal is scheduled far ahead, so even a
# consumer of the shared broker's catalogue changes keeps accepting it.
WITHDRAWN = "huawei-4c057eb5"  # HCIE-Computing
USED = "aws-e94e5145"
ALICE = Operator("alice", "Alice", Role.OPERATOR)
VICTOR = Operator("victor", "Victor", Role.VIEWER)


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str) -> AsyncIterator[RunningRegistry]:
    async with running_registry(registry_settings(infra, module_database)) as running:
        yield running


@pytest.fixture(scope="module")
async def operator_client(registry: RunningRegistry) -> AsyncIterator[RegistryOperator]:
    client = RegistryOperator.connect(registry.grpc_address, session_pki())
    yield client
    await client.close()


@pytest.fixture
async def use(console_pool: asyncpg.Pool, operator_client: RegistryOperator) -> CatalogueWatchUse:
    projection = Projection(console_pool, NameBox(os.urandom(32)))
    await projection.apply(
        [
            VerificationRequested(
                request_id=uuid.uuid4(),
                employer_id=uuid.uuid4(),
                region="tianjin",
                qualification_id=USED,
                body_ids=["aws"],
                holder=HolderClaim(name="Mei Lin", nationality="CHN", holder_ref="ref"),
                certificate=CertificateClaim(number="AWS-1", issued_on=date(2024, 1, 1)),
            )
        ]
    )
    return CatalogueWatchUse(projection, operator_client, AuditLog(console_pool), dormant_months=6)


async def test_the_whole_catalogue_with_its_use_and_the_dormant_flagged(
    use: CatalogueWatchUse,
) -> None:
    view = await use.view()
    assert len(view.qualifications) == 163
    found = {q.qualification_id: q for q in view.qualifications}
    assert found[USED].requests >= 1 and found[USED].regions.get("tianjin", 0) >= 1
    assert not found[USED].dormant
    assert found[WITHDRAWN].dormant and found[WITHDRAWN].requests == 0
    assert view.observed_since is not None


async def test_a_withdrawal_goes_through_the_registry_and_is_audited(
    use: CatalogueWatchUse, console_pool: asyncpg.Pool
) -> None:
    audit = AuditLog(console_pool)
    target = f"qualification:{WITHDRAWN}"
    with pytest.raises(MayNotAct):
        await use.withdraw(VICTOR, WITHDRAWN, date(2099, 1, 1), "not for viewers")
    assert await audit.recent(target=target) == []

    on = datetime.now(UTC).date() + timedelta(days=365 * 70)
    withdrawn = await use.withdraw(ALICE, WITHDRAWN, on, "  superseded   by a new edition ")
    assert withdrawn.withdrawn_on == on and not withdrawn.withdrawn
    [entry] = await audit.recent(target=target)
    assert (entry.actor, entry.action) == ("alice", "withdraw-qualification")
    assert entry.detail["withdrawn_on"] == on.isoformat()

    view = await use.view()  # read afresh after the action
    assert [(w.qualification_id, w.withdrawn_on) for w in view.withdrawals_scheduled] == [
        (WITHDRAWN, on)
    ]
    assert view.withdrawals_scheduled[0].reason == "superseded by a new edition"
    assert view.withdrawals_past == []


async def test_a_refused_withdrawal_is_audited_as_refused(
    use: CatalogueWatchUse, console_pool: asyncpg.Pool
) -> None:
    with pytest.raises(RegistryNotFound):
        await use.withdraw(ALICE, "no-such-qualification", None, "gone")
    [entry] = await AuditLog(console_pool).recent(target="qualification:no-such-qualification")
    assert entry.action == "withdraw-qualification-refused"
    assert entry.detail["refusal"] == "RegistryNotFound"
