"""The formation advisor: from a few answers, how a social organization should set up its party
organization (pure; the wording is in templates/formation.j2).

Rules (FACTS.md): 3 or more formal members → a branch of its own (党章第三十条, 条例第四条),
at most 50 members per branch; fewer than 3 → a joint branch with nearby units
(≤ 5 units, 条例第五条),
or affiliation with the supervising unit's party organization (挂靠, "谁主管谁负责"), or the
regional organization of the building, park or street (区域性党组织) when there are no peers and
no supervising party organization, or an instructor where there is no formal member yet
(委派党建工作指导员, mass organizations first: seed 003); 7 or more formal members →
a committee of 3 to 5 (≤ 7); term 3 years; set up by application → approval (usually ≤ 1 month)
→ 党员大会 election (条例第六条). Probationary members do not count towards the 3 or the 7, but
they do count towards the 50.
"""

from __future__ import annotations

import msgspec

FORMAL_CHOICES = ("0", "1", "2", "3-6", "7-50", "51+")
PROBATIONARY_CHOICES = ("0", "1", "2", "3+")
ORG_TYPES = ("trade_association", "social_group", "private_non_enterprise", "foundation", "other")
ANSWERS = ("y", "n", "u")  # yes, no, unsure


class Advice(msgspec.Struct, frozen=True):
    """What to do, as codes the template words."""

    mode: str  # standalone / joint / affiliated / instructor / area
    formal: str  # one of FORMAL_CHOICES
    probationary: str
    committee: bool
    too_large: bool
    alternatives: tuple[str, ...]
    notes: tuple[str, ...]
    # Why this mode: no_formal / supervisor_has_party / peers_nearby / peers_unknown / no_peers
    # (empty for a standalone branch).
    reason: str = ""
    # The exact numbers when a typed question gave them ("3名党员，其中1名预备党员").
    counted: tuple[int, int] | None = None


def formal_choice(count: int) -> str:
    """The choice a typed count of formal members falls in."""
    if count < 3:
        return str(max(count, 0))
    if count <= 6:
        return "3-6"
    return "7-50" if count <= 50 else "51+"


def probationary_choice(count: int) -> str:
    return str(count) if count < 3 else "3+"


def advise(
    formal: str,
    probationary: str,
    org_type: str,
    supervisor_has_party: str,
    nearby_peers: str,
    members_total: int | None = None,
) -> Advice:
    """The recommendation for these answers (each from the *_CHOICES / ANSWERS above)."""
    if formal not in FORMAL_CHOICES or probationary not in PROBATIONARY_CHOICES:
        raise ValueError("unknown member choice")
    if org_type not in ORG_TYPES or {supervisor_has_party, nearby_peers} - set(ANSWERS):
        raise ValueError("unknown answer")
    notes: list[str] = []
    alternatives: list[str] = []
    reason = ""
    enough = formal in ("3-6", "7-50", "51+")
    if enough:
        mode = "standalone"
        if org_type == "trade_association":
            notes.append("industry")
    else:
        if formal == "0":
            # Nobody to form a group with: an instructor and the mass organizations first
            # (seed 003), whatever the supervising unit has.
            mode, reason = "instructor", "no_formal"
            if supervisor_has_party == "y":
                notes.append("supervisor_helps")
        elif supervisor_has_party == "y":
            mode, reason = "affiliated", "supervisor_has_party"
            alternatives += ["joint"] if nearby_peers != "n" else []
        elif nearby_peers != "n":
            mode = "joint"
            reason = "peers_nearby" if nearby_peers == "y" else "peers_unknown"
            alternatives += ["affiliated"] if supervisor_has_party == "u" else []
            alternatives.append("area")
        else:
            # No peers to join and no supervising party organization known: the regional
            # organization of the building, park or street takes the members in.
            mode, reason = "area", "no_peers"
            alternatives += ["affiliated"] if supervisor_has_party == "u" else []
        if mode != "instructor":
            alternatives.append("instructor")
        if formal == "0":
            notes.append("mass_orgs_first")
        total = int(formal) + {"0": 0, "1": 1, "2": 2, "3+": 3}[probationary]
        if probationary != "0" and total >= 3:
            notes.append("after_probation")
    if probationary != "0":
        notes.append("probationary_not_counted")
    # The 50-member guide counts every member, probationary ones too (条例第四条).
    too_large = formal == "51+" or (members_total is not None and members_total > 50)
    return Advice(
        mode=mode,
        formal=formal,
        probationary=probationary,
        committee=formal in ("7-50", "51+"),
        too_large=too_large,
        reason=reason,
        alternatives=tuple(alternatives),
        notes=tuple(notes),
    )
