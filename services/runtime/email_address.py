"""E-mail addresses of notification recipients: one rule, shared by intake (which refuses a bad
address) and the notifier (which must accept exactly what intake accepts)."""

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254


class InvalidEmailAddress(ValueError):
    """The address is not a deliverable-looking mailbox; the message says why (in English)."""


def normalised_email(address: str) -> str:
    """The address in normal form (domain lower-cased, IDNA applied), or InvalidEmailAddress.

    Syntax only: no DNS lookup, so a check never waits on the network."""
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmailAddress(str(error)) from error
    if len(checked.normalized) > MAX_LENGTH:
        raise InvalidEmailAddress(f"longer than {MAX_LENGTH} characters")
    return checked.normalized


def is_valid_email(address: str) -> bool:
    try:
        normalised_email(address)
    except InvalidEmailAddress:
        return False
    return True
