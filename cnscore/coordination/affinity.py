"""Author -> rater affinity and coverage (shared docs/reference.md §4.1.1).

On HELPFUL ratings (helpfulnessLevel, as the reference), for each latency window L of 1, 5
and 20 minutes (rating time - note creation time <= L, negative latencies included):

    writerTotal        notes written by the author (all notes, any latency)
    raterTotal{L}m     the rater's HELPFUL ratings with latency <= L, on any author
    pairTotal{L}m      those ratings on this author's notes
    raterAffinity{L}m  pairTotal / raterTotal, null when raterTotal < 10
    writerCoverage{L}m pairTotal / writerTotal, null when writerTotal < 10

One row per (author, rater) with at least one rating within the longest window. Where the
reference leaves a shorter window's counts null (pair absent from that window's table), we
write 0 and the 0.0 ratio: every link threshold is > 0, so links are the same.
An author rating their own notes is scored but never linked (a pair of one participant
would make a one-member group).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.columns import NoteCols, RatingCols
from cnscore.config import CoordinationConfig
from cnscore.coordination.schemas import (
    LATENCY_MINUTES,
    CoordCols,
    pair_total,
    rater_affinity,
    raters_total,
    writer_coverage,
)

MINUTE_MILLIS = 60_000
R, N, C = RatingCols, NoteCols, CoordCols


def author_rater_scores(ratings: DataFrame, notes: DataFrame, cfg: CoordinationConfig) -> DataFrame:
    """Affinity and coverage of every (author, rater) pair with a HELPFUL rating in 20 minutes.

    Args:
        ratings: noteId, raterParticipantId, createdAtMillis, helpfulnessLevel.
        notes: noteId, noteAuthorParticipantId, createdAtMillis.
        cfg: `affinity_min_denominator` (10 in the reference).

    Returns:
        noteAuthorParticipantId, raterParticipantId, writerTotal, then per latency L in
        (1, 5, 20): raterTotal{L}m, pairTotal{L}m, raterAffinity{L}m, writerCoverage{L}m.

    Example:
        >>> scores = author_rater_scores(ratings, notes, CoordinationConfig())
        >>> scores.where("raterAffinity1m >= 0.2")
    """
    note_side = notes.select(
        N.NOTE_ID, F.col(N.AUTHOR_ID).alias(C.AUTHOR), F.col(N.CREATED_AT).alias("_noteMillis")
    )
    writer_totals = note_side.groupBy(C.AUTHOR).agg(
        F.count_distinct(N.NOTE_ID).cast("long").alias(C.WRITER_TOTAL)
    )
    helpful = ratings.where(F.col(R.HELPFULNESS_LEVEL) == "HELPFUL").select(
        R.NOTE_ID, R.RATER_ID, F.col(R.CREATED_AT).alias("_ratingMillis")
    )
    latency = F.col("_ratingMillis") - F.col("_noteMillis")
    timed = helpful.join(note_side, on=N.NOTE_ID, how="inner").select(
        C.AUTHOR, R.RATER_ID, latency.alias("_latency")
    )

    def within(minutes: int) -> Column:
        return F.col("_latency") <= minutes * MINUTE_MILLIS

    longest = max(LATENCY_MINUTES)
    pair_counts = (
        timed.where(within(longest))
        .groupBy(C.AUTHOR, R.RATER_ID)
        .agg(*[F.count_if(within(m)).cast("long").alias(pair_total(m)) for m in LATENCY_MINUTES])
    )
    rater_counts = timed.groupBy(R.RATER_ID).agg(
        *[F.count_if(within(m)).cast("long").alias(raters_total(m)) for m in LATENCY_MINUTES]
    )
    scored = pair_counts.join(writer_totals, on=C.AUTHOR, how="left").join(
        rater_counts, on=R.RATER_ID, how="left"
    )
    floor = cfg.affinity_min_denominator
    columns = [C.AUTHOR, R.RATER_ID, C.WRITER_TOTAL]
    for m in LATENCY_MINUTES:
        pair, rater_total = F.col(pair_total(m)), F.col(raters_total(m))
        writer_total = F.col(C.WRITER_TOTAL)
        columns += [
            raters_total(m),
            pair_total(m),
            # `when` guards the division too (ANSI mode raises on a zero divisor).
            F.when(rater_total >= floor, pair / rater_total).alias(rater_affinity(m)),
            F.when(writer_total >= floor, pair / writer_total).alias(writer_coverage(m)),
        ]
    return scored.select(*columns)


def affinity_criteria(cfg: CoordinationConfig) -> list[tuple[str, float]]:
    """(score column, threshold) pairs; a pair links when any score is >= its threshold."""
    return [
        (writer_coverage(1), cfg.writer_coverage_1m),
        (writer_coverage(5), cfg.writer_coverage_5m),
        (writer_coverage(20), cfg.writer_coverage_20m),
        (rater_affinity(1), cfg.rater_affinity_1m),
        (rater_affinity(5), cfg.rater_affinity_5m),
        (rater_affinity(20), cfg.rater_affinity_20m),
    ]


def affinity_links(scores: DataFrame, cfg: CoordinationConfig) -> DataFrame:
    """The (author, rater) pairs passing any threshold, with `linkCriteria` naming which.

    A null score (denominator under the minimum) never passes: `null >= x` is null, and
    `array_compact` drops it.
    """
    passed = F.array_compact(
        F.array(
            *[F.when(F.col(name) >= value, F.lit(name)) for name, value in affinity_criteria(cfg)]
        )
    )
    author, rater = F.col(C.AUTHOR), F.col(R.RATER_ID)
    return (
        scores.withColumn(C.CRITERIA, passed)
        .where((F.size(C.CRITERIA) > 0) & (author != rater))
        .withColumn(C.LEFT, F.least(author, rater))
        .withColumn(C.RIGHT, F.greatest(author, rater))
    )
