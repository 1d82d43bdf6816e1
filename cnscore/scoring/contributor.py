"""Contributor scores and the enrollment state machine (reference.md §6).

`contributor_scores` builds the reference's helpfulness_scores table: the rater columns of the
prescoring models (passed in, copied through), per-contributor rating and note counts, the new
enrollment state, emerging-writer flag, top not-helpful tags and the 14d/90d status counts.
Behaviour follows the reference (`run_scoring.py:_compute_helpfulness_scores`,
`contributor_state.py`); the aggregates live in `contributor_counts.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.scoring import contributor_counts as cc
from cnscore.scoring.contributor_state import (
    STATE_CODES,
    apply_earn_out_targets,
    apply_state_machine,
)
from cnscore.scoring.settings import ScoringConfig


@dataclass(frozen=True)
class ContributorConfig:
    """Contributor-score constants (reference constants.py)."""

    rating_impact_for_earn_in: int = 5  # base rating impact needed to earn in (and its +5 steps)
    at_risk_crnh_count: int = 2  # CRNH among the last notes that makes a writer at risk
    max_history_earn_out: int = 5  # how many recent notes the state machine looks at
    top_writer_writing_impact: int = 10
    top_writer_hit_rate: float = 0.04
    emerging_writer_days: int = 28
    emerging_mean_note_score: float = 0.3
    emerging_rating_count: int = 10
    min_ratings_to_get_tag: int = 2
    recent_short_days: int = 14
    recent_short_min_ratings: int = 10  # 14d counts skip NMR notes with fewer ratings
    recent_long_days: int = 90


# helpfulness_scores.tsv columns in the reference's order, with the Spark type we emit.
OUTPUT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("raterParticipantId", "string"),
    ("coreRaterIntercept", "double"),
    ("coreRaterFactor1", "double"),
    ("crhCrnhRatioDifference", "double"),
    ("meanNoteScore", "double"),
    ("raterAgreeRatio", "double"),
    *((name, "long") for name in cc.RATING_COUNT_COLUMNS),
    ("notesCurrentlyRatedHelpful", "long"),
    ("notesCurrentlyRatedNotHelpful", "long"),
    ("notesAwaitingMoreRatings", "long"),
    ("enrollmentState", "long"),
    ("successfulRatingNeededToEarnIn", "long"),
    ("authorTopNotHelpfulTagValues", "string"),
    ("timestampOfLastStateChange", "double"),
    ("aboveHelpfulnessThreshold", "boolean"),
    ("isEmergingWriter", "boolean"),
    ("aggregateRatingReceivedTotal", "long"),
    ("timestampOfLastEarnOut", "double"),
    ("groupRaterIntercept", "double"),
    ("groupRaterFactor1", "double"),
    ("modelingGroup", "double"),
    ("raterHelpfulnessReputation", "double"),
    ("numberOfTimesEarnedOut", "double"),
    ("expansionRaterIntercept", "double"),
    ("expansionRaterFactor1", "double"),
    ("expansionPlusRaterIntercept", "double"),
    ("expansionPlusRaterFactor1", "double"),
    ("multiGroupRaterIntercept", "double"),
    ("multiGroupRaterFactor1", "double"),
    ("modelingMultiGroup", "double"),
    ("coreWithTopicsRaterIntercept", "double"),
    ("coreWithTopicsRaterFactor1", "double"),
    ("coreFirstRoundRaterIntercept", "double"),
    ("coreFirstRoundRaterFactor1", "double"),
    *((f"{s}Total{d}", "long") for d in ("14d", "90d") for s in ("crh", "crnh", "nmr")),
)

RATER = cc.RATER


_RECENT_COLUMNS = tuple(f"{s}Total{d}" for d in ("14d", "90d") for s in ("crh", "crnh", "nmr"))
_COMPUTED = {
    *cc.RATING_COUNT_COLUMNS,
    *cc.NOTE_COUNT_COLUMNS,
    "enrollmentState",
    "successfulRatingNeededToEarnIn",
    "authorTopNotHelpfulTagValues",
    "timestampOfLastStateChange",
    "isEmergingWriter",
    "timestampOfLastEarnOut",
    "numberOfTimesEarnedOut",
    *_RECENT_COLUMNS,
}


def contributor_scores(
    ratings: DataFrame,
    notes: DataFrame,
    scored_notes: DataFrame,
    updated_nsh: DataFrame,
    enrollment: DataFrame,
    helpfulness: DataFrame,
    epoch_millis: int,
    *,
    cfg: ScoringConfig | None = None,
    ccfg: ContributorConfig | None = None,
) -> DataFrame:
    """The reference's helpfulness_scores table (reference.md §6), one row per participant.

    Args:
        ratings: ratings (`schemas.RATINGS`, helpfulNum optional); the reference's contributor
            preprocessing is applied here (idempotent: `contributor_counts.contributor_ratings`).
        notes: notes table (classification and creation time for that preprocessing).
        scored_notes: final note results: noteId, finalRatingStatus, coreNoteIntercept, and
            optionally numRatings / numRatingsLast28 (else counted from `ratings`).
        updated_nsh: the note status history written by this run (`update_status_history`).
        enrollment: userEnrollment (`schemas.USER_ENROLLMENT`).
        helpfulness: prescoring rater table keyed by raterParticipantId; its other columns (core
            rater params, crhCrnhRatioDifference, meanNoteScore, raterAgreeRatio,
            aboveHelpfulnessThreshold, first-round params, any other model's params) are copied.
        epoch_millis: "now" (state-change timestamps, earn-out reset, 28-day window).

    Returns:
        `OUTPUT_COLUMNS` in order (columns neither computed nor supplied are null). Rows: everyone
        in `helpfulness`, every rater with a rating made before its note's status (and within 48 h),
        and every note author; enrollment-only participants appear only through `helpfulness`, as
        in the reference.
    """
    cfg, ccfg = cfg or ScoringConfig(), ccfg or ContributorConfig()
    now = F.lit(float(epoch_millis))
    r = cc.contributor_ratings(ratings, notes, updated_nsh, cfg)
    note_status = cc.note_status_table(
        scored_notes, updated_nsh, r, epoch_millis - ccfg.emerging_writer_days * cc.DAY_MILLIS
    )
    rating_part = cc.rating_counts(r, updated_nsh, note_status, cfg)
    note_part = cc.note_counts(note_status)

    # Users who acknowledged an earn-out restart their note history now (reference quirk: the
    # same reset is what gets written to timestampOfLastEarnOut).
    enr = enrollment.select(
        F.col("participantId").alias(RATER),
        F.col("enrollmentState").alias("_enrState"),
        F.col("successfulRatingNeededToEarnIn").alias("_enrNeeded"),
        F.col("timestampOfLastStateChange").cast("double").alias("_enrTsChange"),
        F.col("numberOfTimesEarnedOut").cast("double").alias("_enrTimes"),
        F.when(F.col("enrollmentState") == "earnedOutAcknowledged", now)
        .otherwise(F.col("timestampOfLastEarnOut"))
        .alias("_lastEarnOut"),
    )
    last = cc.last_notes_counts(
        note_status, enr.select(RATER, "_lastEarnOut"), ccfg.max_history_earn_out
    )
    tags = cc.top_not_helpful_tags(r, updated_nsh, ccfg.min_ratings_to_get_tag)
    emerging = cc.emerging_writers(
        note_status, ccfg.emerging_mean_note_score, ccfg.emerging_rating_count
    )

    ids = (
        rating_part.select(RATER)
        .union(note_part.select(RATER))
        .union(updated_nsh.select(F.col(cc.AUTHOR).alias(RATER)))
        .where(F.col(RATER).isNotNull())
        .distinct()
    )
    people = ids
    for part in (rating_part, note_part, last, tags, emerging, enr.drop("_lastEarnOut")):
        people = people.join(part, RATER, "left")

    def zero(c: str) -> Column:
        return F.coalesce(F.col(c), F.lit(0))

    people = people.select(
        "*",
        F.coalesce("_enrState", F.lit("newUser")).alias("_state"),
        F.coalesce("_enrNeeded", F.lit(ccfg.rating_impact_for_earn_in))
        .cast("long")
        .alias("_needed"),
        F.col("_enrTsChange").alias("_tsChange"),
        F.col("_enrTimes").alias("_times"),
        (
            zero("successfulRatingTotal")
            - zero("unsuccessfulRatingTotal")
            - zero("unsuccessfulRatingNotHelpfulCount")
        ).alias("_ri"),
        zero("notesCurrentlyRatedNotHelpfulLast").alias("_crnhLast"),
    ).withColumn("isEmergingWriter", F.coalesce("isEmergingWriter", F.lit(False)))
    people = apply_earn_out_targets(apply_state_machine(people, now, ccfg), now, ccfg)
    contrib = people.select(
        RATER,
        *cc.RATING_COUNT_COLUMNS,
        *cc.NOTE_COUNT_COLUMNS,
        F.col("_code").alias("enrollmentState"),
        F.col("_needed").alias("successfulRatingNeededToEarnIn"),
        "authorTopNotHelpfulTagValues",
        F.col("_tsChange").alias("timestampOfLastStateChange"),
        "isEmergingWriter",
        F.col("_times").alias("numberOfTimesEarnedOut"),
    )

    given = helpfulness.select(
        RATER, *[c for c in helpfulness.columns if c != RATER and c not in _COMPUTED]
    )
    out = given.join(contrib, RATER, "full_outer")
    # Participants without a new state keep their enrollment state (as a code).
    code_of = F.create_map(*[x for name, c in STATE_CODES.items() for x in (F.lit(name), F.lit(c))])
    prev = enr.select(
        RATER, code_of[F.col("_enrState")].cast("long").alias("_prevCode"), "_lastEarnOut"
    )
    out = (
        out.join(prev, RATER, "left")
        .withColumn("enrollmentState", F.coalesce("enrollmentState", "_prevCode"))
        .withColumn("timestampOfLastEarnOut", F.coalesce("_lastEarnOut", F.lit(1.0)))
    )
    recent = [
        cc.recent_note_stats(
            r, updated_nsh, ccfg.recent_short_days, ccfg.recent_short_min_ratings, "14d"
        ),
        cc.recent_note_stats(r, updated_nsh, ccfg.recent_long_days, None, "90d"),
    ]
    for part in recent:
        out = out.join(part, RATER, "left")
    out = out.fillna(0, subset=list(_RECENT_COLUMNS))
    return out.select(
        *[
            (F.col(c) if c in out.columns else F.lit(None)).cast(t).alias(c)
            for c, t in OUTPUT_COLUMNS
        ]
    )
