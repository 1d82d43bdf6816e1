"""Rating preprocessing shared by every model: the helpfulNum label (docs/reference.md §1.2).

The reference (`process_data.py:compute_helpful_num`) merges the two rating forms into one
label: the 2021 two-option form (`helpful` / `notHelpful`) and the three-level form
(`helpfulnessLevel`). Rows with neither are unlabeled and dropped before any model sees them.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.columns import RatingCols

HELPFUL_NUM = RatingCols.HELPFUL_NUM
# helpfulnessLevel value -> label; these win over the two-option columns.
LEVEL_TO_NUM = {"NOT_HELPFUL": 0.0, "SOMEWHAT_HELPFUL": 0.5, "HELPFUL": 1.0}


def helpful_num_expr() -> Column:
    """The helpfulNum expression over a ratings row (null when the row carries no label).

    Same precedence as the reference's successive assignments: start null; helpful == 1 -> 1.0;
    notHelpful == 1 -> 0.0 (so a row with both set ends at 0.0); then a known
    helpfulnessLevel overrides both. An unknown level leaves the earlier value, as in the
    reference (the reader rejects unknown levels anyway).
    """
    level = F.col(RatingCols.HELPFULNESS_LEVEL)
    expr = None
    # `when` chains take the first match, so list the assignments from last to first.
    for name, value in LEVEL_TO_NUM.items():
        cond = level == name
        expr = F.when(cond, F.lit(value)) if expr is None else expr.when(cond, F.lit(value))
    expr = expr.when(F.col(RatingCols.NOT_HELPFUL) == 1, F.lit(0.0))
    expr = expr.when(F.col(RatingCols.HELPFUL) == 1, F.lit(1.0))
    return expr.cast("double")


def with_helpful_num(ratings: DataFrame) -> DataFrame:
    """Add (or replace) the double column `helpfulNum`; unlabeled rows get null and are kept."""
    return ratings.withColumn(HELPFUL_NUM, helpful_num_expr())


def filter_labeled_ratings(ratings: DataFrame) -> DataFrame:
    """Keep the rows whose helpfulNum is set (adding the column first if it is missing).

    The reference drops the rest; count them with `unlabeled_ratings(df).count()` or
    `helpful_num_counts(df)` if the caller wants to log how many were dropped.
    """
    return _ensure(ratings).where(F.col(HELPFUL_NUM).isNotNull())


def unlabeled_ratings(ratings: DataFrame) -> DataFrame:
    """The rows `filter_labeled_ratings` drops (helpfulNum null)."""
    return _ensure(ratings).where(F.col(HELPFUL_NUM).isNull())


def helpful_num_counts(ratings: DataFrame) -> dict[str, int]:
    """Rows per label in one pass: keys "helpful" (1.0), "somewhat" (0.5), "not_helpful" (0.0),
    "unlabeled" (null, dropped by `filter_labeled_ratings`) and "total"."""
    num = F.col(HELPFUL_NUM)
    row = (
        _ensure(ratings)
        .agg(
            F.count_if(num == 1.0).alias("helpful"),
            F.count_if(num == 0.5).alias("somewhat"),
            F.count_if(num == 0.0).alias("not_helpful"),
            F.count_if(num.isNull()).alias("unlabeled"),
            F.count(F.lit(1)).alias("total"),
        )
        .first()
    )
    return {k: int(v or 0) for k, v in row.asDict().items()}


def _ensure(ratings: DataFrame) -> DataFrame:
    return ratings if HELPFUL_NUM in ratings.columns else with_helpful_num(ratings)
