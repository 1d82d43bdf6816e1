"""Integer codes for rater ids, for the pair self-joins (co-rating, collisions).

A joined pair row is shuffled at least twice (distinct per post, then the count); with two
64-character ids a row is ~9x the bytes it is with two longs, so those joins run on codes.
Codes are dense, 0..k-1, in the string order of the ids: `left < right` and least/greatest
pick the same rater as on the ids, and the codes do not depend on partitioning.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import RatingCols

R = RatingCols
RATER = "_rater"  # the code column


def rater_codes(frame: DataFrame) -> DataFrame:
    """raterParticipantId, _rater: a code for each distinct rater of `frame`."""
    ids = frame.select(R.RATER_ID).distinct().orderBy(R.RATER_ID)
    return ids.zipWithIndex(RATER)


def encode(frame: DataFrame, codes: DataFrame) -> DataFrame:
    """`frame` with `_rater` in place of raterParticipantId (raters without a code dropped)."""
    return frame.join(codes, on=R.RATER_ID, how="inner").drop(R.RATER_ID)


def decode(coded: DataFrame, codes: DataFrame, code: str, name: str) -> DataFrame:
    """Replace the code column `code` by the id it stands for, named `name`."""
    ids = codes.select(F.col(RATER).alias("_code"), F.col(R.RATER_ID).alias(name))
    return coded.withColumnRenamed(code, "_code").join(ids, on="_code", how="inner").drop("_code")
