"""Note status values and rule names, as the reference writes them."""

from __future__ import annotations

NMR = "NEEDS_MORE_RATINGS"
CRH = "CURRENTLY_RATED_HELPFUL"
CRNH = "CURRENTLY_RATED_NOT_HELPFUL"
FIRM_REJECT = "FIRM_REJECT"
NYH = "NEEDS_YOUR_HELP"
NOT_MISLEADING = "NOT_MISLEADING"
MISLEADING = "MISINFORMED_OR_POTENTIALLY_MISLEADING"
RULE_VERSION = "v1.0"


def rule_label(name: str) -> str:
    """A rule as it appears in *ActiveRules columns, e.g. "GeneralCRH (v1.0)"."""
    return f"{name} ({RULE_VERSION})"
