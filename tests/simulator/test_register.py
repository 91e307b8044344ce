import re

import httpx

from simulator.population import find, unknown_certificate_number
from tests.simulator.support import SEED, set_faults

MEMBER_ROW = re.compile(
    r'<tr class="register-member"><td class="member-name">(?P<name>[^<]*)</td>'
    r'<td class="member-number">(?P<number>[^<]*)</td>'
    r'<td class="member-status">(?P<status>[^<]*)</td>'
    r'<td class="member-admitted">(?P<admitted>[^<]*)</td></tr>'
)


async def search(
    http: httpx.AsyncClient, body_id: str, surname: str, number: str = ""
) -> httpx.Response:
    return await http.post(
        f"/register/{body_id}/search", data={"surname": surname, "membership_number": number}
    )


async def test_form_asks_for_surname_and_membership_number(http: httpx.AsyncClient) -> None:
    response = await http.get("/register/rics/search")
    assert response.status_code == 200
    assert 'name="surname"' in response.text and 'name="membership_number"' in response.text


async def test_current_member_is_found(http: httpx.AsyncClient) -> None:
    cert = find(SEED, "rics", "authentic")
    response = await search(http, "rics", cert.family_name.upper(), cert.certificate_number)
    assert response.status_code == 200
    assert 'data-register-layout="v1"' in response.text
    rows = [match.groupdict() for match in MEMBER_ROW.finditer(response.text)]
    assert rows == [
        {
            "name": cert.holder_name,
            "number": cert.certificate_number,
            "status": "Current",
            "admitted": cert.issued_on.isoformat(),
        }
    ]


async def test_lapsed_and_removed_members(http: httpx.AsyncClient) -> None:
    for kind, status in (("expired", "Lapsed"), ("revoked", "Removed")):
        cert = find(SEED, "acca", kind)  # type: ignore[arg-type]
        response = await search(http, "acca", cert.family_name, cert.certificate_number)
        row = MEMBER_ROW.search(response.text)
        assert row is not None and row["status"] == status


async def test_surname_search_ignores_diacritics(http: httpx.AsyncClient) -> None:
    cert = find(SEED, "ahpra", "name_diacritics_variant")
    stripped = cert.claimed_name.split()[-1]
    response = await search(http, "ahpra", stripped, cert.certificate_number)
    assert MEMBER_ROW.search(response.text) is not None


async def test_unknown_member_or_wrong_surname_says_no_record(http: httpx.AsyncClient) -> None:
    cert = find(SEED, "rics", "authentic")
    for surname, number in (
        (cert.family_name, unknown_certificate_number("rics")),
        ("Nobody", cert.certificate_number),
    ):
        response = await search(http, "rics", surname, number)
        assert response.status_code == 200
        assert '<p class="register-no-record">No record found.</p>' in response.text
        assert MEMBER_ROW.search(response.text) is None


async def test_empty_surname_is_a_400_with_the_form(http: httpx.AsyncClient) -> None:
    response = await search(http, "rics", "  ")
    assert response.status_code == 400
    assert 'class="register-error"' in response.text


async def test_changed_markup_carries_no_v1_structure(http: httpx.AsyncClient) -> None:
    await set_faults(http, "redesigned-body", markup_changed=True)
    cert = find(SEED, "redesigned-body", "authentic")
    response = await search(http, "redesigned-body", cert.family_name, cert.certificate_number)
    assert response.status_code == 200
    assert 'data-register-layout="v2"' in response.text
    assert "register-results" not in response.text and "register-no-record" not in response.text
    assert cert.certificate_number in response.text


async def test_outage_serves_a_503_page(http: httpx.AsyncClient) -> None:
    await set_faults(http, "closed-register", outage=True)
    response = await search(http, "closed-register", "Smith")
    assert response.status_code == 503
    assert "temporarily unavailable" in response.text
