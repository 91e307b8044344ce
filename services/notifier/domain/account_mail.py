"""The text of account e-mails (verify your address, approved, rejected, reset your password,
you are invited), Chinese first, then English. Pure.

A mail names the organisation and carries the link where there is one, how long the link
stays valid and an operator's note; nothing else personal.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from services.contracts.events import AccountMail, AccountMailRequested
from services.notifier.domain.messages import EmailText


@dataclass(frozen=True)
class QueuedAccountMail:
    """What the notifier keeps of a requested mail until it is sent: the link stays sealed."""

    mail_id: str
    kind: AccountMail
    organisation: str
    sealed_link: str | None
    note_zh: str | None
    note_en: str | None
    link_valid_hours: float | None

    def payload(self) -> bytes:
        return orjson.dumps(self.__dict__)

    @classmethod
    def of(cls, event: AccountMailRequested) -> "QueuedAccountMail":
        return cls(
            mail_id=str(event.mail_id),
            kind=event.kind,
            organisation=event.organisation,
            sealed_link=event.sealed_link,
            note_zh=None if event.note is None else event.note.zh,
            note_en=None if event.note is None else event.note.en,
            link_valid_hours=event.link_valid_hours,
        )

    @classmethod
    def from_payload(cls, payload: bytes) -> "QueuedAccountMail":
        values: dict[str, Any] = orjson.loads(payload)
        values["kind"] = AccountMail(values["kind"])
        return cls(**values)


@dataclass(frozen=True)
class _Wording:
    subject_zh: str
    subject_en: str
    lines_zh: Callable[[str], list[str]]
    lines_en: Callable[[str], list[str]]
    action_zh: str = ""  # what the link does, said before it
    action_en: str = ""


_WORDING = {
    AccountMail.VERIFY_EMAIL: _Wording(
        "请验证您的电子邮箱",
        "Verify your e-mail address",
        lambda org: [f"您好，感谢为「{org}」注册核验平台账户。"],
        lambda org: [f"Thank you for registering {org} on the verification platform."],
        "请打开以下链接确认邮箱地址，确认后由运营人员审核您的单位：",
        "Open this link to confirm your address; an operator then reviews your organisation:",
    ),
    AccountMail.EMPLOYER_APPROVED: _Wording(
        "您的单位已通过审核",
        "Your organisation has been approved",
        lambda org: [f"「{org}」已通过运营人员审核，账户现已启用。"],
        lambda org: [f"{org} has been approved by an operator; the account is now active."],
        "请在此登录：",
        "You can sign in at:",
    ),
    AccountMail.EMPLOYER_REJECTED: _Wording(
        "您的单位未通过审核",
        "Your organisation was not approved",
        lambda org: [f"很抱歉，「{org}」的注册申请未通过运营人员审核。"],
        lambda org: [f"We are sorry: the registration of {org} was not approved by an operator."],
    ),
    AccountMail.PASSWORD_RESET: _Wording(
        "重置您的密码",
        "Reset your password",
        lambda org: [f"有人请求重置您在「{org}」账户下的密码。如非本人操作，请忽略本邮件。"],
        lambda org: [
            f"Someone asked to reset your password for {org}. "
            "If it was not you, ignore this e-mail."
        ],
        "请打开以下链接设置新密码：",
        "Open this link to set a new password:",
    ),
    AccountMail.INVITATION: _Wording(
        "您被邀请加入核验平台",
        "You are invited to the verification platform",
        lambda org: [f"「{org}」的管理员邀请您使用核验平台。"],
        lambda org: [f"An administrator of {org} has invited you to the verification platform."],
        "请打开以下链接设置密码并启用账户：",
        "Open this link to set your password and activate your account:",
    ),
}

_SIGNATURE = (
    "—— 京津冀国际职业资格认可目录证书核验平台",
    "— Beijing–Tianjin–Hebei qualification verification platform",
)


def account_email_of(mail: QueuedAccountMail, link: str | None) -> EmailText:
    """The bilingual mail; `link` is the opened link, given only at the moment of sending."""
    wording = _WORDING[mail.kind]
    zh = wording.lines_zh(mail.organisation) + _note_zh(mail) + _link_zh(wording, mail, link)
    en = wording.lines_en(mail.organisation) + _note_en(mail) + _link_en(wording, mail, link)
    body = [*zh, "", _SIGNATURE[0], "", *en, "", _SIGNATURE[1]]
    subject = f"{wording.subject_zh} {wording.subject_en}"
    return EmailText(subject, "\n".join(body) + "\n")


def _note_zh(mail: QueuedAccountMail) -> list[str]:
    return [f"说明：{mail.note_zh}"] if mail.note_zh else []


def _note_en(mail: QueuedAccountMail) -> list[str]:
    return [f"Reason: {mail.note_en}"] if mail.note_en else []


def _link_zh(wording: _Wording, mail: QueuedAccountMail, link: str | None) -> list[str]:
    if link is None:
        return []
    lines = ["", wording.action_zh, link]
    if mail.kind is not AccountMail.EMPLOYER_APPROVED:
        hours = mail.link_valid_hours
        lines.append(
            f"该链接仅可使用一次，{_hours(hours)}小时内有效。"
            if hours
            else "该链接仅可使用一次，过期后请重新申请。"
        )
    return lines


def _link_en(wording: _Wording, mail: QueuedAccountMail, link: str | None) -> list[str]:
    if link is None:
        return []
    lines = ["", wording.action_en, link]
    if mail.kind is not AccountMail.EMPLOYER_APPROVED:
        hours = mail.link_valid_hours
        lines.append(
            f"The link works once and is valid for {_hours(hours)} hours."
            if hours
            else "The link works once and expires; ask for a new one if it has."
        )
    return lines


def _hours(hours: float) -> str:
    return f"{hours:g}"
