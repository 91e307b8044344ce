"""What an employer's account details must be: pure checks, each refusal in both languages."""

from dataclasses import dataclass

import phonenumbers

from services.intake.domain.identifiers import is_valid_credit_code
from services.runtime.email_address import InvalidEmailAddress, normalised_email

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
MAX_NAME_LENGTH = 200
# Numbers written without a country code are read as mainland China's.
DEFAULT_PHONE_REGION = "CN"


@dataclass(frozen=True, slots=True)
class Message:
    """A text shown to a person, in English and Chinese."""

    en: str
    zh: str


# A field's name -> why its value was refused.
Refusals = dict[str, Message]


def check_name(value: str, what: Message) -> Message | None:
    cleaned = value.strip()
    if not cleaned:
        return Message(f"Enter the {what.en}.", f"请填写{what.zh}。")
    if len(cleaned) > MAX_NAME_LENGTH:
        return Message(
            f"The {what.en} is longer than {MAX_NAME_LENGTH} characters.",
            f"{what.zh}超过 {MAX_NAME_LENGTH} 个字符。",
        )
    return None


def check_credit_code(value: str) -> Message | None:
    code = value.strip().upper()
    if not code:
        return Message("Enter the unified social credit code.", "请填写统一社会信用代码。")
    if not is_valid_credit_code(code):
        return Message(
            "This is not a valid unified social credit code: 18 characters (digits and capital "
            "letters except I, O, S, V, Z) whose last one is the check character of GB 32100-2015.",
            "统一社会信用代码无效：应为 18 位（数字及除 I、O、S、V、Z 外的大写字母），"
            "且末位校验码符合 GB 32100-2015。",
        )
    return None


def normalised_credit_code(value: str) -> str:
    return value.strip().upper()


def email_or_refusal(value: str) -> tuple[str | None, Message | None]:
    """The address in normal form (lower-cased, as accounts store it), or why it is refused."""
    if not value.strip():
        return None, Message("Enter an e-mail address.", "请填写电子邮箱。")
    try:
        return normalised_email(value.strip()).lower(), None
    except InvalidEmailAddress as error:
        return None, Message(
            f"This e-mail address is not valid: {error}", "电子邮箱地址无效，请检查后重新填写。"
        )


def phone_or_refusal(value: str) -> tuple[str | None, Message | None]:
    """The number in E.164 (+8613800138000), or why it is refused."""
    if not value.strip():
        return None, Message("Enter a phone number.", "请填写联系电话。")
    try:
        number = phonenumbers.parse(value.strip(), DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return None, Message(
            "This phone number is not valid. Write it with its country code (e.g. "
            "+86 138 0013 8000); a number without one is read as mainland China's.",
            "联系电话无效。请填写含国家代码的号码（如 +86 138 0013 8000）；"
            "未写国家代码的按中国大陆号码处理。",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def check_new_password(password: str, confirmation: str, email: str | None) -> Refusals:
    """Why a new password is refused, by field (`password`, `password_confirmation`)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        message = Message(
            f"A password has at least {MIN_PASSWORD_LENGTH} characters.",
            f"密码至少 {MIN_PASSWORD_LENGTH} 个字符。",
        )
        return {"password": message}
    if len(password) > MAX_PASSWORD_LENGTH:
        message = Message(
            f"A password has at most {MAX_PASSWORD_LENGTH} characters.",
            f"密码最多 {MAX_PASSWORD_LENGTH} 个字符。",
        )
        return {"password": message}
    if email and email.lower() in password.strip().lower():
        message = Message(
            "The password may not contain your e-mail address.", "密码不得包含您的电子邮箱地址。"
        )
        return {"password": message}
    if password != confirmation:
        message = Message("The two passwords differ.", "两次输入的密码不一致。")
        return {"password_confirmation": message}
    return {}
