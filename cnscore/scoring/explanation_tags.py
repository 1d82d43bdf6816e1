"""Explanation tags and the InsufficientExplanation rule (docs/reference.md §4.14, §1.7).

The reference (`explanation_tags.get_top_two_tags_for_note`, `scoring_rules.
InsufficientExplanation`, the last meta rule) works on the running label just before it runs:
- CRH notes look at the 9 helpful-tag counts, CRNH notes at the 13 not-helpful-tag counts
  (counts over the final-scoring ratings, see `cnscore.scoring.note_stats`).
- A tag qualifies with count >= minRatingsToGetTag (2). A note needs >= 2 qualifying tags;
  otherwise it keeps no tags and its status becomes NMR (decidedBy InsufficientExplanation).
- firstTag / secondTag are the two qualifying tags with the highest counts; ties go to the
  higher tie-break priority (§1.7). Tag values are the rating column names, e.g.
  "notHelpfulIncorrect", exactly as scored_notes.tsv spells them.

So in the reference outputs a note has tags iff its finalRatingStatus is CRH or CRNH.

Implementation: one array of (count, priority, tag) structs per note, filtered and sorted
descending with Spark's native higher-order functions: no UDF, no explode and no window (a
per-note sort of at most 13 elements needs no shuffle beyond the tag-count aggregation).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.columns import (
    HELPFUL_TAG_PRIORITY,
    HELPFUL_TAGS_TSV_ORDER,
    NOT_HELPFUL_TAG_PRIORITY,
    NOT_HELPFUL_TAGS_TSV_ORDER,
    NoteCols,
)
from cnscore.scoring.status import CRH, CRNH

FIRST_TAG = "firstTag"
SECOND_TAG = "secondTag"
INSUFFICIENT = "insufficientExplanation"
FINAL_STATUS = "finalRatingStatus"
MIN_TAGS_NEEDED_FOR_STATUS = 2  # the reference asserts this value; other values are unsupported

assert set(HELPFUL_TAG_PRIORITY) == set(HELPFUL_TAGS_TSV_ORDER)
assert set(NOT_HELPFUL_TAG_PRIORITY) == set(NOT_HELPFUL_TAGS_TSV_ORDER)
TAG_COLUMNS = HELPFUL_TAGS_TSV_ORDER + NOT_HELPFUL_TAGS_TSV_ORDER


def tag_counts(ratings: DataFrame) -> DataFrame:
    """noteId and the 22 tag sums (bigint, null tags count as 0), one row per rated note."""
    return ratings.groupBy(NoteCols.NOTE_ID).agg(
        *[F.coalesce(F.sum(F.col(t).cast("bigint")), F.lit(0)).alias(t) for t in TAG_COLUMNS]
    )


def _candidates(priorities: dict[str, int]) -> Column:
    """array<struct<count, priority, tag>> over the given tags, count null -> 0."""
    return F.array(
        *[
            F.struct(
                F.coalesce(F.col(tag).cast("bigint"), F.lit(0)).alias("count"),
                F.lit(prio).alias("priority"),
                F.lit(tag).alias("tag"),
            )
            for tag, prio in priorities.items()
        ]
    )


def top_two_tags_from_counts(
    note_status: DataFrame,
    counts: DataFrame,
    cfg,
    *,
    status_col: str = FINAL_STATUS,
) -> DataFrame:
    """Explanation tags from per-note tag counts (e.g. the output of `note_stats`).

    Args:
        note_status: noteId and `status_col`, the label just before InsufficientExplanation
            (in the reference outputs: finalRatingStatus for notes that kept CRH/CRNH).
        counts: noteId and the 22 tag count columns; notes missing from it count as zeros.
        cfg: a ScoringConfig; `explanation_min_raters_per_tag` is minRatingsToGetTag.
        status_col: the status column of `note_status`.

    Returns:
        One row per note of `note_status`: noteId, firstTag, secondTag (strings, null unless
        the note is CRH/CRNH with >= 2 qualifying tags) and insufficientExplanation (boolean,
        true exactly for CRH/CRNH notes with < 2 qualifying tags: the rule sets them to NMR).
    """
    min_count = int(cfg.explanation_min_raters_per_tag)
    status = F.col(status_col)
    kept = counts.select(NoteCols.NOTE_ID, *TAG_COLUMNS)
    joined = note_status.select(NoteCols.NOTE_ID, status_col).join(kept, NoteCols.NOTE_ID, "left")
    candidates = (
        F.when(status == F.lit(CRH), _candidates(HELPFUL_TAG_PRIORITY))
        .when(status == F.lit(CRNH), _candidates(NOT_HELPFUL_TAG_PRIORITY))
    )
    qualifying = F.filter(candidates, lambda s: s["count"] >= F.lit(min_count))
    # Descending struct order = highest count first, then highest priority (priorities unique).
    ranked = F.sort_array(qualifying, asc=False)
    enough = F.size(ranked) >= F.lit(MIN_TAGS_NEEDED_FOR_STATUS)
    decided = status.isin(CRH, CRNH)
    return joined.select(
        NoteCols.NOTE_ID,
        F.when(decided & enough, ranked[0]["tag"]).cast("string").alias(FIRST_TAG),
        F.when(decided & enough, ranked[1]["tag"]).cast("string").alias(SECOND_TAG),
        F.coalesce(decided & ~enough, F.lit(False)).alias(INSUFFICIENT),
    )


def top_two_tags(
    note_status: DataFrame, ratings: DataFrame, cfg, *, status_col: str = FINAL_STATUS
) -> DataFrame:
    """Explanation tags computed from ratings: `top_two_tags_from_counts(note_status,
    tag_counts(ratings), cfg)`. Pass the final-scoring ratings (post preprocessing and
    post-selection filter), the same ones `note_stats` counts. See `top_two_tags_from_counts`
    for the arguments and the output (noteId, firstTag, secondTag, insufficientExplanation).
    """
    return top_two_tags_from_counts(note_status, tag_counts(ratings), cfg, status_col=status_col)
