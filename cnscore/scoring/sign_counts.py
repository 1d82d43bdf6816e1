"""Ratings split by the sign of the rater's factor (shared docs/reference.md §4.6 rule 5, §4.9).

Feeds RatioCRNH (mean helpfulness on each side) and the net-helpful minimums (helpful minus
not-helpful ratings on the smaller side). Only ratings by raters with final parameters count.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import RatingCols

NOTE_ID, RATER_ID, HELPFUL_NUM = RatingCols.NOTE_ID, RatingCols.RATER_ID, RatingCols.HELPFUL_NUM


def sign_counts(ratings: DataFrame, rater_factors: DataFrame) -> DataFrame:
    """noteId, negFactorRatingCount, posFactorRatingCount, minSignCount, negFactorMeanHelpfulNum,
    posFactorMeanHelpfulNum, netMinHelpful, netMinHelpfulRatio (raters: raterParticipantId,
    internalRaterFactor1; factor < 0 is the negative side, everything else positive)."""
    factors = rater_factors.select(RATER_ID, "internalRaterFactor1").where(F.col("internalRaterFactor1").isNotNull())
    rated = ratings.select(NOTE_ID, RATER_ID, HELPFUL_NUM).join(factors, RATER_ID)
    neg = F.col("internalRaterFactor1") < 0
    label = F.col(HELPFUL_NUM)

    def side(cond, name):
        return [
            F.count(F.when(cond, 1)).alias(f"{name}FactorRatingCount"),
            F.avg(F.when(cond, label)).alias(f"{name}FactorMeanHelpfulNum"),
            (F.count(F.when(cond & (label == 1.0), 1)) - F.count(F.when(cond & (label == 0.0), 1))).alias(f"_{name}Net"),
        ]

    per_note = rated.groupBy(NOTE_ID).agg(*side(neg, "neg"), *side(~neg, "pos"), F.count(F.lit(1)).alias("_total"))
    net_min = F.greatest(F.least("_negNet", "_posNet"), F.lit(0))
    return per_note.select(
        NOTE_ID, "negFactorRatingCount", "posFactorRatingCount",
        F.least("negFactorRatingCount", "posFactorRatingCount").alias("minSignCount"),
        "negFactorMeanHelpfulNum", "posFactorMeanHelpfulNum",
        net_min.cast("int").alias("netMinHelpful"),
        (net_min / F.col("_total")).alias("netMinHelpfulRatio"),
    )


POPULATION_SAMPLED = "POPULATION_SAMPLED"
# Per-sign counts of population-sampled ratings (§4.9), read by the PopulationSampledIntercept
# meta rule; output as <prefix>NegFactor_populationSampledRatingCount etc.
NEG_POPULATION_SAMPLED = "negFactor_populationSampledRatingCount"
POS_POPULATION_SAMPLED = "posFactor_populationSampledRatingCount"


def population_sampled_sign_counts(ratings: DataFrame, rater_factors: DataFrame) -> DataFrame:
    """noteId, negFactor_populationSampledRatingCount, posFactor_populationSampledRatingCount:
    POPULATION_SAMPLED ratings (ratingSourceBucketed) by raters with a factor, split by its
    sign as in `sign_counts`. Notes without such ratings have no row (callers fill 0)."""
    sampled = ratings.where(F.col(RatingCols.RATING_SOURCE) == F.lit(POPULATION_SAMPLED))
    counts = sign_counts(sampled, rater_factors)
    return counts.select(NOTE_ID, F.col("negFactorRatingCount").cast("bigint").alias(NEG_POPULATION_SAMPLED),
                         F.col("posFactorRatingCount").cast("bigint").alias(POS_POPULATION_SAMPLED))
