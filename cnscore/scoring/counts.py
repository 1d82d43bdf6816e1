"""Minimum-count filters (shared docs/reference.md §4.4.2)."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from cnscore.columns import RatingCols

# Final scoring's selection keeps notes with at least this many ratings (no rater minimum).
FINAL_MIN_RATINGS_PER_NOTE = 5


def _keep_min(ratings: DataFrame, key: str, minimum: int) -> DataFrame:
    if minimum <= 0:
        return ratings
    counted = ratings.withColumn("_n", F.count(F.lit(1)).over(Window.partitionBy(key)))
    return counted.where(F.col("_n") >= minimum).drop("_n")


def filter_min_counts(ratings: DataFrame, min_per_note: int, min_per_rater: int) -> DataFrame:
    """Notes with >= min_per_note ratings, then raters with >= min_per_rater, then notes again.

    One back-and-forth, as the reference does it, not iterated to a fixed point.
    """
    notes_first = _keep_min(ratings, RatingCols.NOTE_ID, min_per_note)
    raters = _keep_min(notes_first, RatingCols.RATER_ID, min_per_rater)
    return _keep_min(raters, RatingCols.NOTE_ID, min_per_note)
