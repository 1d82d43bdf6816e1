"""Coordination detection: high-volume raters, post-selection similarity groups, quasi-cliques.

Shared docs/reference.md §1.6 step 3, §4.1 and §4.2, distributed: pair counting is a bounded
self-join (see corating.py), components are label propagation with DataFrames, and only the
quasi-clique growth runs on the driver, over a size-checked candidate set.
"""

from __future__ import annotations

from cnscore.coordination.stage import (
    CoordinationResult,
    apply_post_selection,
    run_coordination,
    with_high_volume_flag,
)

__all__ = [
    "CoordinationResult",
    "apply_post_selection",
    "run_coordination",
    "with_high_volume_flag",
]
