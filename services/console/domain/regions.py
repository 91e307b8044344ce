"""Which consumer groups and subscribers belong to which region (pure).

The regional systems read `verification.outcomes.v1` with groups named after their region
(`region-beijing`, `region-tianjin`, `region-hebei`); a group belongs to a region when the
region's name is one of its words (separated by `-`, `_` or `.`).
"""

import re

from services.console.domain.registry import REGIONS

REGION_NAMES: dict[str, tuple[str, str]] = {
    "beijing": ("Beijing", "北京"),
    "tianjin": ("Tianjin", "天津"),
    "hebei": ("Hebei", "河北"),
}
_WORDS = re.compile(r"[-_.]")


def region_of_group(group_id: str) -> str | None:
    """The region whose consumer group this is, or None for the platform's own groups."""
    words = set(_WORDS.split(group_id.lower()))
    found = [region for region in REGIONS if region in words]
    return found[0] if len(found) == 1 else None
