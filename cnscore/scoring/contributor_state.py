"""Enrollment state machine of the contributor scores (reference.md §6, `contributor_state.py`).

Both steps work on one row per contributor with private columns (see each docstring) and are
applied in order by `contributor.contributor_scores`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

if TYPE_CHECKING:
    from cnscore.scoring.contributor import ContributorConfig

# Output enrollment codes (reference `enrollmentStateToThrift`).
STATE_CODES = {
    "earnedIn": 0,
    "atRisk": 1,
    "earnedOutNoAcknowledge": 2,
    "earnedOutAcknowledged": 3,
    "newUser": 4,
    "removed": 5,
    "apiTestUser": 6,
    "apiEarnedIn": 7,
    "apiEarnedOut": 8,
}
_API = ("apiTestUser", "apiEarnedIn", "apiEarnedOut")


def _not_in(state: Column, *names: str) -> Column:
    return ~state.isin(*names, *_API)


def apply_state_machine(df: DataFrame, now: Column, ccfg: ContributorConfig) -> DataFrame:
    """Enrollment transitions of the reference's `get_contributor_state`, in its order.

    Input columns: _state (enrollment state name), _needed, _tsChange, _times, _ri (rating impact),
    _crnhLast (CRNH among the last notes). States set in this run are written as "#<code>" so
    later checks see them as equal to no state name: the reference's column then holds an int
    code among strings and compares it the same way (e.g. a writer who earns in this run can
    still be put at risk, or earned out, by the later checks). Output: _code (int code).
    """
    state, crnh = F.col("_state"), F.col("_crnhLast")
    risk = ccfg.at_risk_crnh_count
    steps = [
        # Earn in: not already in, rating impact reached the target.
        (
            _not_in(state, "removed", "earnedIn", "atRisk") & (F.col("_ri") >= F.col("_needed")),
            0,
            False,
        ),
        # Writers with exactly `risk` CRNH among their last notes become at risk.
        (
            _not_in(
                state,
                "removed",
                "newUser",
                "earnedOutNoAcknowledge",
                "earnedOutAcknowledged",
                "atRisk",
            )
            & (crnh == risk),
            1,
            False,
        ),
        # More than `risk` CRNH: earned out (counted once more).
        (_not_in(state, "removed", "newUser", "earnedOutAcknowledged") & (crnh > risk), 2, True),
        # At-risk writers back under the limit earn back in.
        (
            _not_in(
                state,
                "removed",
                "newUser",
                "earnedOutAcknowledged",
                "earnedOutNoAcknowledge",
                "earnedIn",
            )
            & (crnh < risk),
            0,
            False,
        ),
    ]
    for cond, code, count_earn_out in steps:
        df = df.withColumn("_hit", cond)
        df = df.withColumn("_state", F.when(F.col("_hit"), F.lit(f"#{code}")).otherwise(state))
        df = df.withColumn("_tsChange", F.when(F.col("_hit"), now).otherwise(F.col("_tsChange")))
        if count_earn_out:
            df = df.withColumn(
                "_times", F.when(F.col("_hit"), F.col("_times") + 1).otherwise(F.col("_times"))
            )
    code_of = F.create_map(*[x for name, c in STATE_CODES.items() for x in (F.lit(name), F.lit(c))])
    tagged = F.substring(state, 2, 1).cast("long")
    return df.withColumn(
        "_code", F.when(state.startswith("#"), tagged).otherwise(code_of[state].cast("long"))
    ).drop("_hit", "_state")


def apply_earn_out_targets(df: DataFrame, now: Column, ccfg: ContributorConfig) -> DataFrame:
    """Single-trigger earn-out, then the rating-impact target of everyone earned out.

    Uses the all-time note counts (notesCurrentlyRated*, null for non-authors) next to the state
    machine's output. Everyone left earnedOutNoAcknowledge (2) is written as earnedOutAcknowledged
    (3) with target 5 + max(RI, 0) + 5 * max(times - 1, 0); top writers skip the escalation.
    """
    crh = F.coalesce(F.col("notesCurrentlyRatedHelpful"), F.lit(0))
    crnh = F.coalesce(F.col("notesCurrentlyRatedNotHelpful"), F.lit(0))
    single = (
        (crnh > crh)
        & F.coalesce(F.col("_crnhLast") > 0, F.lit(False))
        & ~F.coalesce(F.col("_code").isin(2, 3, 4, 5), F.lit(False))
    )
    df = df.withColumn("_hit", single)
    df = df.withColumn(
        "_times", F.when(F.col("_hit"), F.col("_times") + 1).otherwise(F.col("_times"))
    )
    df = df.withColumn("_code", F.when(F.col("_hit"), F.lit(2)).otherwise(F.col("_code")))
    df = df.withColumn("_tsChange", F.when(F.col("_hit"), now).otherwise(F.col("_tsChange")))

    base = ccfg.rating_impact_for_earn_in
    ri = F.greatest(F.coalesce(F.col("_ri"), F.lit(0)), F.lit(0))
    escalation = F.greatest(F.coalesce(F.col("_times"), F.lit(0)) - 1, F.lit(0)) * base
    wi = F.col("notesCurrentlyRatedHelpful") - F.col("notesCurrentlyRatedNotHelpful")
    total = F.greatest(
        F.col("notesCurrentlyRatedHelpful")
        + F.col("notesCurrentlyRatedNotHelpful")
        + F.col("notesAwaitingMoreRatings"),
        F.lit(1),
    )
    top_writer = F.coalesce(
        (wi >= ccfg.top_writer_writing_impact) & (wi / total >= ccfg.top_writer_hit_rate),
        F.lit(False),
    )
    out = F.col("_code") == 2
    target = F.when(top_writer, base + ri).otherwise(base + ri + escalation)
    df = df.withColumn("_needed", F.when(out, target).otherwise(F.col("_needed")).cast("long"))
    return df.withColumn("_code", F.when(out, F.lit(3)).otherwise(F.col("_code"))).drop("_hit")
