"""The text of each kind of account e-mail: Chinese first, then English, the link where there is
one with how long it is valid, an operator's reason, and nothing else personal."""

from uuid import uuid4

import pytest

from services.contracts.events import AccountMail, AccountMailRequested, LocalizedText
from services.notifier.domain.account_mail import QueuedAccountMail, account_email_of

LINK = "https://employers.example/verify-email?token=abc"


def queued(
    kind: AccountMail, hours: float | None = 24, note: LocalizedText | None = None
) -> QueuedAccountMail:
    event = AccountMailRequested(
        mail_id=uuid4(),
        employer_id=uuid4(),
        kind=kind,
        organisation="Harbour Engineering Ltd.",
        sealed_recipient="v1.sealed",
        sealed_link="v1.sealed-link",
        note=note,
        link_valid_hours=hours,
    )
    return QueuedAccountMail.from_payload(QueuedAccountMail.of(event).payload())


@pytest.mark.parametrize(
    ("kind", "zh", "en"),
    [
        (AccountMail.VERIFY_EMAIL, "验证", "Verify your e-mail address"),
        (AccountMail.PASSWORD_RESET, "重置", "Reset your password"),
        (AccountMail.INVITATION, "邀请", "invited"),
    ],
)
def test_a_mail_with_a_one_time_link_says_how_long_it_is_valid(
    kind: AccountMail, zh: str, en: str
) -> None:
    text = account_email_of(queued(kind, hours=24), LINK)
    assert zh in text.subject and en in text.subject
    assert text.subject.index(zh) < text.subject.index(en)
    assert text.body.count(LINK) == 2, "once per language"
    assert "24小时内有效" in text.body and "valid for 24 hours" in text.body
    assert text.body.index("24小时内有效") < text.body.index("valid for 24 hours")
    assert "Harbour Engineering Ltd." in text.body


def test_without_a_stated_validity_the_mail_says_the_link_expires() -> None:
    text = account_email_of(queued(AccountMail.VERIFY_EMAIL, hours=None), LINK)
    assert "过期后请重新申请" in text.body and "expires" in text.body
    assert "hours" not in text.body


def test_approval_gives_the_sign_in_address_without_a_validity() -> None:
    text = account_email_of(queued(AccountMail.EMPLOYER_APPROVED), "https://e.example/sign-in")
    assert "已通过审核" in text.subject and "approved" in text.subject
    assert "You can sign in at:\nhttps://e.example/sign-in" in text.body
    assert "valid for" not in text.body


def test_a_rejection_carries_the_operators_reason_in_both_languages() -> None:
    note = LocalizedText(zh="名称与信用代码不符", en="The name does not match the credit code")
    text = account_email_of(queued(AccountMail.EMPLOYER_REJECTED, note=note), None)
    assert "未通过审核" in text.subject and "not approved" in text.subject
    assert "说明：名称与信用代码不符" in text.body
    assert "Reason: The name does not match the credit code" in text.body
    assert "http" not in text.body


def test_the_queued_mail_keeps_the_link_sealed() -> None:
    payload = QueuedAccountMail.of(
        AccountMailRequested(
            mail_id=uuid4(),
            employer_id=uuid4(),
            kind=AccountMail.VERIFY_EMAIL,
            organisation="X",
            sealed_recipient="v1.a",
            sealed_link="v1.b",
        )
    ).payload()
    assert b"v1.b" in payload and b"v1.a" not in payload, "the address is kept apart"
