"""The Spark side of the ALS engine: one fit's ratings, partitioned by note and by rater and
cached, and the half-step that aggregates every entity's sufficient statistics natively
(cnscore.mf.stats) and solves them on the driver in one batched numpy call (cnscore.mf.solve).
cnscore.mf.als drives it; its module docstring describes the algorithm."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cnscore.columns import ParamCols, factor_cols
from cnscore.config import MFConfig
from cnscore.mf.local import check_rating_weights
from cnscore.mf.objective import PenaltyWeights, penalty_weights
from cnscore.mf.solve import solve_batch
from cnscore.mf.stats import gamma_stats, squared_error_sum, sufficient_stats
from cnscore.schemas import MF_WEIGHT

NOTE, RATER, LABEL = ParamCols.NOTE_IDX, ParamCols.RATER_IDX, ParamCols.LABEL


def param_schema(key: str, num_factors: int) -> T.StructType:
    """key (int), intercept, factor1..k (double)."""
    return T.StructType(
        [T.StructField(key, T.IntegerType(), False)]
        + [
            T.StructField(name, T.DoubleType(), False)
            for name in ["intercept", *factor_cols("factor", num_factors)]
        ]
    )


class SparkProblem:
    """The ratings of one fit, partitioned and cached both ways, with their counts. Ratings
    with an MF_WEIGHT column are a weighted problem: each squared error counts w times."""

    def __init__(self, ratings: DataFrame, cfg: MFConfig, *, need_rater_side: bool = True):
        self.cfg = cfg
        self.spark = ratings.sparkSession
        self.weighted = MF_WEIGHT in ratings.columns
        partitions = cfg.num_partitions or int(self.spark.conf.get("spark.sql.shuffle.partitions"))
        base = ratings.select(RATER, NOTE, LABEL, *([MF_WEIGHT] if self.weighted else []))
        self.by_note = base.repartition(partitions, NOTE).persist()
        self.by_rater = base.repartition(partitions, RATER).persist() if need_rater_side else None
        weight_aggs = [F.sum(MF_WEIGHT).alias("w"), F.min(MF_WEIGHT).alias("w_min"),
                       F.count(MF_WEIGHT).alias("w_n")] if self.weighted else []
        row = self.by_note.agg(
            F.count(F.lit(1)).alias("n"),
            F.countDistinct(NOTE).alias("notes"),
            F.countDistinct(RATER).alias("raters"),
            *weight_aggs,
        ).first()
        if not row["n"]:
            raise ValueError("no ratings to fit")
        self.num_ratings, self.num_notes, self.num_raters = row["n"], row["notes"], row["raters"]
        self.total_weight = self.num_ratings  # the loop's sum of weights (see cnscore.mf.loop)
        if self.weighted:
            if row["w_n"] != row["n"]:
                raise ValueError("rating weights must not be null")
            # The min catches negative weights; NaN or infinite ones reach the sum.
            check_rating_weights(np.array([row["w_min"], row["w"]], float), cfg)
            self.total_weight = float(row["w"])
        self.weights: PenaltyWeights = penalty_weights(
            cfg, self.num_ratings, self.num_notes, self.num_raters
        )
        self.gamma: pd.DataFrame | None = None  # QS-MF: raterIdx, gamma (None = standard MF)
        self.gamma_weight = 0.0

    def set_gamma(self, gamma: pd.DataFrame, weight: float) -> None:
        """Fix every rater's quality sensitivity (QS-MF) for the following half-steps: the
        ratings caches gain a `gamma` column (a broadcast join keeps their partitioning)."""
        self.gamma, self.gamma_weight = gamma, weight
        table = self.spark.createDataFrame(gamma[[RATER, "gamma"]], f"{RATER} int, gamma double")
        old = (self.by_note, self.by_rater)
        self.by_note, self.by_rater = (
            df.select(RATER, NOTE, LABEL).join(F.broadcast(table), RATER, "left")
            .withColumn("gamma", F.coalesce(F.col("gamma"), F.lit(1.0))).persist()
            for df in old
        )
        for df in old:
            df.unpersist()

    def gamma_penalty(self) -> float:
        """lambda_gamma * sum (gamma - 1)^2 in sum form (0 for standard MF)."""
        if self.gamma is None:
            return 0.0
        return self.gamma_weight * float(((self.gamma["gamma"] - 1.0) ** 2).sum())

    def gamma_stats(self, notes: pd.DataFrame, raters: pd.DataFrame, mu: float) -> pd.DataFrame:
        """raterIdx, zi, ii for the closed-form gamma update (cnscore.mf.stats.gamma_stats)."""
        stats = gamma_stats(
            self.by_rater, self.to_df(notes, NOTE), self.to_df(raters, RATER),
            label=LABEL, mu=mu, num_factors=self.cfg.num_factors,
        )
        return stats.toPandas().sort_values(RATER, ignore_index=True)

    def to_df(self, params: pd.DataFrame, key: str) -> DataFrame:
        """A parameter table as a DataFrame (QS-MF rater tables keep their `gamma`)."""
        cols = [key, "intercept", *factor_cols("factor", self.cfg.num_factors)]
        schema = param_schema(key, self.cfg.num_factors)
        if "gamma" in params.columns:
            cols.append("gamma")
            schema = schema.add("gamma", T.DoubleType(), False)
        return self.spark.createDataFrame(params[cols], schema=schema)

    def solve(self, key: str, fixed: pd.DataFrame, mu: float) -> pd.DataFrame:
        """One half-step: every `key` entity solved given the fixed side's parameters."""
        is_note = key == NOTE
        fixed_key = RATER if is_note else NOTE
        stats = sufficient_stats(
            self.by_note if is_note else self.by_rater,
            self.to_df(fixed, fixed_key),
            key=key,
            fixed_key=fixed_key,
            label=LABEL,
            mu=mu,
            num_factors=self.cfg.num_factors,
            gamma="gamma" if self.gamma is not None else None,
            weight=MF_WEIGHT if self.weighted else None,
        )
        weights = self.weights.note if is_note else self.weights.rater
        # One row per entity comes back (Arrow); the batched numpy solve is milliseconds even
        # for millions of entities, and the result is needed here for the next broadcast.
        batch = stats.toPandas().sort_values(key, ignore_index=True)
        return solve_batch(batch, key=key, num_factors=self.cfg.num_factors, weights=weights)

    def train_sse(self, outcome) -> float:
        """The plain sum of squared errors at a fit's solution (one extra pass over the ratings
        when they are weighted: the loop's SSE is then the weighted one)."""
        if not self.weighted:
            return outcome.sse
        notes, raters = self.to_df(outcome.notes, NOTE), self.to_df(outcome.raters, RATER)
        return squared_error_sum(self.by_note, notes, raters, label=LABEL, mu=outcome.mu,
                                 num_factors=self.cfg.num_factors)

    def release(self) -> None:
        self.by_note.unpersist()
        if self.by_rater is not None:
            self.by_rater.unpersist()
