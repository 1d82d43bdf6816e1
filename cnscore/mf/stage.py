"""The MF stage: labelled ratings in, public-id parameter tables out.

helpfulNum must already be set (cnscore.preprocess); the stage maps ids to dense integers,
fits, and maps back. Output tables use the reference's intermediate column names
(`internalNoteIntercept`, `internalRaterFactor1`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cnscore.columns import ParamCols, RatingCols, factor_cols
from cnscore.config import MFConfig
from cnscore.ids import densify_ratings, with_public_id
from cnscore.mf.als import MFResult, fit_mf

P = ParamCols


@dataclass(frozen=True)
class MFStageResult:
    """Parameter tables on public ids, the id maps, and the fit's diagnostics."""

    note_params: DataFrame  # noteId, internalNoteIntercept, internalNoteFactor1..k, numRatings
    rater_params: DataFrame  # raterParticipantId, internalRaterIntercept, ..., numRatings
    #                          (+ qualitySensitivity with QS-MF)
    global_params: DataFrame  # one row: globalIntercept, objective, trainMse, sweeps, converged
    rater_ids: DataFrame
    note_ids: DataFrame
    fit: MFResult


def _named(params: DataFrame, counts: DataFrame, key: str, intercept: str, prefix: str, k: int):
    renames = {"intercept": intercept, **dict(zip(factor_cols("factor", k), factor_cols(prefix, k)))}
    renames["gamma"] = P.QUALITY_SENSITIVITY  # QS-MF rater tables only
    named = params.withColumnsRenamed(renames).join(counts, on=key, how="left")
    return named.withColumn(P.NUM_RATINGS, F.coalesce(F.col(P.NUM_RATINGS), F.lit(0)))


def fit_mf_stage(spark: SparkSession, ratings: DataFrame, cfg: MFConfig) -> MFStageResult:
    """Fit the biased MF on labelled ratings (noteId, raterParticipantId, helpfulNum)."""
    labelled = ratings.where(F.col(RatingCols.HELPFUL_NUM).isNotNull())
    dense = densify_ratings(labelled)
    dense_ratings = dense.ratings.persist()
    fit = fit_mf(dense_ratings, cfg)
    k = cfg.num_factors
    note_counts = dense_ratings.groupBy(P.NOTE_IDX).agg(F.count(F.lit(1)).cast("int").alias(P.NUM_RATINGS))
    rater_counts = dense_ratings.groupBy(P.RATER_IDX).agg(F.count(F.lit(1)).cast("int").alias(P.NUM_RATINGS))
    notes = with_public_id(
        _named(fit.notes, note_counts, P.NOTE_IDX, P.NOTE_INTERCEPT, P.NOTE_FACTOR_PREFIX, k),
        dense.note_ids, key=P.NOTE_IDX, out=RatingCols.NOTE_ID, cast="bigint",
    )
    raters = with_public_id(
        _named(fit.raters, rater_counts, P.RATER_IDX, P.RATER_INTERCEPT, P.RATER_FACTOR_PREFIX, k),
        dense.rater_ids, key=P.RATER_IDX, out=RatingCols.RATER_ID, cast="string",
    )
    global_params = spark.createDataFrame(
        [(fit.global_intercept, fit.objective, fit.train_mse, fit.sweeps, fit.converged)],
        schema=T.StructType(
            [
                T.StructField(P.GLOBAL_INTERCEPT, T.DoubleType(), False),
                T.StructField("objective", T.DoubleType(), False),
                T.StructField("trainMse", T.DoubleType(), False),
                T.StructField("sweeps", T.IntegerType(), False),
                T.StructField("converged", T.BooleanType(), False),
            ]
        ),
    )
    return MFStageResult(notes, raters, global_params, dense.rater_ids, dense.note_ids, fit)
