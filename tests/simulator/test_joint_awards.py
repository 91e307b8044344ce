"""A jointly awarded certificate is held, identically, by every co-awarding body."""

import httpx
import pytest

from services.reference.catalogue.loader import load_edition
from simulator.population import (
    JOINT_AWARDS,
    JointAward,
    find_joint,
    lookup,
    population_for,
)
from tests.simulator.support import SEED


def test_the_joint_awards_are_the_catalogues() -> None:
    catalogue = load_edition()
    joint = [(q.id, q.body_ids) for q in catalogue.qualifications if len(q.body_ids) > 1]
    assert sorted(joint) == sorted((a.qualification_id, a.body_ids) for a in JOINT_AWARDS)


@pytest.mark.parametrize("award", JOINT_AWARDS, ids=lambda award: award.prefix)
def test_every_co_awarding_body_holds_the_same_certificate(award: JointAward) -> None:
    certificate = find_joint(SEED, award.qualification_id)
    held = [lookup(SEED, body, certificate.certificate_number) for body in award.body_ids]
    assert all(cert is not None for cert in held)
    facts = {
        (c.certificate_number, c.holder_name, c.issued_on, c.expires_on, c.status)
        for c in held
        if c is not None
    }
    assert len(facts) == 1  # same number, same holder, same dates, same status everywhere
    assert [c.body_id for c in held if c is not None] == list(award.body_ids)


def test_joint_certificates_come_after_the_bodys_own_and_leave_them_unchanged() -> None:
    population = population_for(SEED, "libf")
    own = [c for c in population if not c.joint]
    assert len(own) == 200 and population[:200] == own
    assert [c.index for c in population] == list(range(len(population)))
    assert {c.certificate_number.split("-")[0] for c in population[200:]} == {
        "CDCS",
        "CSDG",
        "CSCF",
        "CTFC",
    }
    assert not any(c.joint for c in population_for(SEED, "aws"))


async def test_each_body_confirms_the_joint_certificate_over_http(http: httpx.AsyncClient) -> None:
    certificate = find_joint(SEED, "baft-a281b26c")  # CDCS: LIBF, ICC and BAFT
    for body in ("libf", "icc", "baft"):
        response = await http.get(
            f"/credential-api/{body}/v1/credentials/{certificate.certificate_number}",
            headers={"Authorization": f"Bearer sim-{body}-key"},
        )
        assert response.status_code == 200, (body, response.text)
        assert response.json()["holder_name"] == certificate.holder_name
