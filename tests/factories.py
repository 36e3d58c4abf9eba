"""Small builders shared by the tests."""

from __future__ import annotations

from db.models import BranchProfile


def make_profile(**changes: object) -> BranchProfile:
    """A consistent branch profile (5 formal members, standalone), with some fields changed."""
    values: dict[str, object] = {
        "name": "测试支部",
        "organization_name": "测试协会",
        "organization_type": "trade_association",
        "formation_mode": "standalone",
        "formal_members": 5,
        "probationary_members": 1,
        "has_committee": False,
        "has_party_groups": False,
        "party_day": 15,
    }
    values.update(changes)
    return BranchProfile(**values)  # type: ignore[arg-type]
