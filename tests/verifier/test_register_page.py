"""Reading a public register's result page strictly: v1 or a clear failure, never a guess."""

import pytest

from services.verifier.channels.register import UnreadablePage, parse_register_page

ROW = (
    '<tr class="register-member"><td class="member-name">Olivia Nguyen</td>'
    '<td class="member-number">RICS-15402895</td><td class="member-status">Current</td>'
    '<td class="member-admitted">2022-07-12</td></tr>'
)


def page(layout: str, content: str) -> str:
    return f'<html><body><main data-register-layout="{layout}">{content}</main></body></html>'


def test_a_result_table_is_read() -> None:
    parsed = parse_register_page(
        page("v1", f'<table class="register-results"><tbody>{ROW}</tbody></table>')
    )
    assert parsed.members == [
        {
            "member-name": "Olivia Nguyen",
            "member-number": "RICS-15402895",
            "member-status": "Current",
            "member-admitted": "2022-07-12",
        }
    ]


def test_a_no_record_notice_is_read() -> None:
    parsed = parse_register_page(page("v1", '<p class="register-no-record">No record.</p>'))
    assert parsed.no_record and parsed.members == []


@pytest.mark.parametrize(
    "html",
    [
        page("v2", '<div class="member-card">Olivia Nguyen, In good standing</div>'),
        page("v1", '<div class="member-card">Olivia Nguyen</div>'),
        page("v1", '<table class="register-results"><tbody></tbody></table>'),
        page(
            "v1",
            '<table class="register-results"><tr class="register-member">'
            '<td class="member-name">X</td></tr></table>',
        ),
        "<html><body>Service temporarily unavailable</body></html>",
    ],
)
def test_any_other_page_is_unreadable(html: str) -> None:
    with pytest.raises(UnreadablePage):
        parse_register_page(html)
