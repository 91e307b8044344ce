"""Who may do what in the console: viewers read, operators read and act."""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Operator:
    """A signed-in person of the console."""

    username: str
    display_name: str
    role: Role

    @property
    def may_act(self) -> bool:
        return self.role is Role.OPERATOR
