"""Why the registry refuses a call: stable codes, each with text in Chinese and English.

The gRPC edge maps each code once to a status code (see api/status.py).
"""

from enum import StrEnum


class ErrorCode(StrEnum):
    MALFORMED_CODE = "malformed-code"
    CHECK_CHARACTER_MISMATCH = "check-character-mismatch"
    INVALID_FIELD = "invalid-field"
    NOT_FOUND = "not-found"
    UNKNOWN_QUALIFICATION = "unknown-qualification"
    REQUEST_CONFLICT = "request-conflict"
    ALREADY_WITHDRAWN = "already-withdrawn"
    PERMISSION_DENIED = "permission-denied"


class RegistryError(Exception):
    """A refusal the caller can act on; never carries personal data in its messages."""

    code: ErrorCode

    def __init__(self, message_en: str, message_zh: str) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_zh = message_zh

    def __str__(self) -> str:
        return f"{self.message_en} / {self.message_zh}"


class MalformedCode(RegistryError):
    code = ErrorCode.MALFORMED_CODE


class CheckCharacterMismatch(RegistryError):
    code = ErrorCode.CHECK_CHARACTER_MISMATCH


class InvalidField(RegistryError):
    code = ErrorCode.INVALID_FIELD

    def __init__(self, field: str, message_en: str, message_zh: str) -> None:
        super().__init__(f"{field}: {message_en}", f"{field}：{message_zh}")
        self.field = field


class NotFound(RegistryError):
    code = ErrorCode.NOT_FOUND


class UnknownQualification(RegistryError):
    """A code was asked for a qualification the catalogue does not hold."""

    code = ErrorCode.UNKNOWN_QUALIFICATION

    def __init__(self, qualification_id: str) -> None:
        super().__init__(
            f"qualification_id: '{qualification_id}' is not in the catalogue",
            f"qualification_id：目录中没有职业资格“{qualification_id}”",
        )


class RequestConflict(RegistryError):
    """The request id was already used to issue a code for a different verification."""

    code = ErrorCode.REQUEST_CONFLICT


class AlreadyWithdrawn(RegistryError):
    """The qualification was withdrawn before; a withdrawal is never overwritten."""

    code = ErrorCode.ALREADY_WITHDRAWN


class PermissionDenied(RegistryError):
    """The caller is known but may not do this (e.g. stream another region's outcomes)."""

    code = ErrorCode.PERMISSION_DENIED
