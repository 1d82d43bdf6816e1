"""Per-note rating statistics over all scored ratings (docs/reference.md §4.10, §2.1, §2.4).

The reference (`note_ratings.compute_note_stats`, called from `run_scoring.post_note_scoring`)
aggregates the ratings that final scoring uses, i.e. after preprocessing (unlabelled ratings
dropped, ratings on NOT_MISLEADING notes created before 2022-10-03 dropped, §1.6) and after the
post-selection-similarity filter (§4.1; a PSS group keeps one rating per note). Those stats feed
`scored_notes.numRatings` and the count columns of `aux_note_info`, and the explanation tags
(§4.14) read the tag counts.

What is, and is not, a stat here:
- numRatings: ratings per note; numRatingsLast28: ratings created strictly after
  epoch_millis - 28 days; numPopulationSampledRatings: ratingSourceBucketed ==
  "POPULATION_SAMPLED"; the 9 helpful and 13 not-helpful tag sums (null tags count as 0).
- awaitingBool / crhBool / crnhBool are NOT stats: the reference derives them from the final
  status in meta scoring, so they belong to the status stage.
- Every note of `notes` gets a row; notes without ratings get zeros (the reference outer-merges
  onto noteStatusHistory and fills 0). Ratings on notes absent from `notes` are ignored (the
  reference asserts there are none).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import HELPFUL_TAGS_TSV_ORDER, NOT_HELPFUL_TAGS_TSV_ORDER, NoteCols, RatingCols

NUM_RATINGS = "numRatings"
NUM_RATINGS_LAST_28 = "numRatingsLast28"
NUM_POPULATION_SAMPLED = "numPopulationSampledRatings"
POPULATION_SAMPLED = "POPULATION_SAMPLED"
LAST_DAYS = 28  # the reference's emergingWriterDays
MILLIS_PER_DAY = 86_400_000
TAG_COLUMNS = HELPFUL_TAGS_TSV_ORDER + NOT_HELPFUL_TAGS_TSV_ORDER
STAT_COLUMNS = (NUM_RATINGS, NUM_RATINGS_LAST_28, NUM_POPULATION_SAMPLED) + TAG_COLUMNS
# Note attributes the reference carries next to the stats, passed through when present.
PASSTHROUGH = (
    NoteCols.CREATED_AT,
    NoteCols.AUTHOR_ID,
    NoteCols.CLASSIFICATION,
    "currentStatus",
    "lockedStatus",
)


def rating_aggregates(ratings: DataFrame, epoch_millis: int) -> DataFrame:
    """noteId plus the STAT_COLUMNS (all bigint), one row per note that has ratings.

    Args:
        ratings: the ratings to count (noteId, createdAtMillis, ratingSourceBucketed and the
            22 tag columns; already filtered as the caller wants, see the module docstring).
        epoch_millis: "now"; numRatingsLast28 counts createdAtMillis > now - 28 days.
    """
    cutoff = int(epoch_millis) - LAST_DAYS * MILLIS_PER_DAY
    has_source = RatingCols.RATING_SOURCE in ratings.columns
    source = F.col(RatingCols.RATING_SOURCE) if has_source else None
    aggs = [
        F.count(F.lit(1)).alias(NUM_RATINGS),
        F.count_if(F.col(RatingCols.CREATED_AT) > F.lit(cutoff)).alias(NUM_RATINGS_LAST_28),
        (
            F.count_if(source == F.lit(POPULATION_SAMPLED))
            if source is not None
            else F.lit(0)
        ).alias(NUM_POPULATION_SAMPLED),
    ]
    aggs += [F.coalesce(F.sum(F.col(t).cast("bigint")), F.lit(0)).alias(t) for t in TAG_COLUMNS]
    grouped = ratings.groupBy(RatingCols.NOTE_ID).agg(*aggs)
    stats = [F.col(c).cast("bigint").alias(c) for c in STAT_COLUMNS]
    return grouped.select(RatingCols.NOTE_ID, *stats)


def note_stats(ratings: DataFrame, notes: DataFrame, epoch_millis: int) -> DataFrame:
    """Per-note stats for every note of `notes` (the reference's `compute_note_stats`).

    Args:
        ratings: final-scoring ratings (post preprocessing and post-selection filtering).
        notes: one row per note to report, normally the status-history-merged note list
            (NSH includes deleted notes); must have noteId. The PASSTHROUGH columns present
            in it (createdAtMillis, noteAuthorParticipantId, classification, currentStatus,
            lockedStatus) are kept.
        epoch_millis: the run's "now" (`--epoch-millis`).

    Returns:
        noteId, the passthrough columns found in `notes`, then STAT_COLUMNS as non-null
        bigint (zeros for notes without ratings).
    """
    keep = [c for c in PASSTHROUGH if c in notes.columns]
    base = notes.select(NoteCols.NOTE_ID, *keep)
    stats = rating_aggregates(ratings, epoch_millis)
    joined = base.join(stats, on=NoteCols.NOTE_ID, how="left")
    return joined.select(
        NoteCols.NOTE_ID,
        *keep,
        *[F.coalesce(F.col(c), F.lit(0)).cast("bigint").alias(c) for c in STAT_COLUMNS],
    )
