"""Alternating least squares for the reference's biased MF objective, on Spark.

Prediction mu + i_u + i_n + f_u . f_n; objective in cnscore.mf.objective. Each half-step is an
exact block minimization (so the objective never increases):

1. ratings are repartitioned once by note and once by rater and cached;
2. the fixed side's parameters are broadcast-joined and Spark aggregates each entity's
   sufficient statistics natively (no shuffle: the ratings are already partitioned by that
   key);
3. the statistics (one small row per entity) come back to the driver as Arrow, where one
   vectorized numpy call solves every entity's (k+1)-sized system. The driver holds the
   parameters between half-steps: a broadcast join ships the fixed side through the driver
   anyway, and a fresh parameter table per half-step cuts the lineage every time (cached,
   chained parameter tables made each sweep slower than the last). Driver memory is
   O(#notes + #raters), never O(#ratings).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cnscore.columns import ParamCols, factor_cols
from cnscore.config import MFConfig
from cnscore.mf.init import random_params, warm_params, xavier_bound
from cnscore.mf.local import LocalProblem
from cnscore.mf.loop import sweep_objective
from cnscore.mf.objective import PenaltyWeights, penalty_weights
from cnscore.mf.qsmf import fit_problem
from cnscore.mf.solve import solve_batch
from cnscore.mf.worker import SIDE, params_of, run_in_worker, use_worker
from cnscore.mf.stats import gamma_stats, sufficient_stats
from cnscore.schemas import MF_RATINGS, validate_schema

NOTE, RATER, LABEL = ParamCols.NOTE_IDX, ParamCols.RATER_IDX, ParamCols.LABEL


@dataclass(frozen=True)
class MFResult:
    """A fitted model. Parameter tables are keyed by dense index: key, intercept, factor1..k
    (QS-MF rater tables add `gamma`)."""

    notes: DataFrame
    raters: DataFrame
    global_intercept: float
    objective: float  # the reference's loss: mean squared error + mean-form penalties
    train_mse: float
    sweeps: int
    converged: bool
    history: tuple[float, ...]
    num_ratings: int
    num_notes: int
    num_raters: int


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
    """The ratings of one fit, partitioned and cached both ways, with their counts."""

    def __init__(self, ratings: DataFrame, cfg: MFConfig, *, need_rater_side: bool = True):
        self.cfg = cfg
        self.spark = ratings.sparkSession
        partitions = cfg.num_partitions or int(self.spark.conf.get("spark.sql.shuffle.partitions"))
        base = ratings.select(RATER, NOTE, LABEL)
        self.by_note = base.repartition(partitions, NOTE).persist()
        self.by_rater = base.repartition(partitions, RATER).persist() if need_rater_side else None
        row = self.by_note.agg(
            F.count(F.lit(1)).alias("n"),
            F.countDistinct(NOTE).alias("notes"),
            F.countDistinct(RATER).alias("raters"),
        ).first()
        if not row["n"]:
            raise ValueError("no ratings to fit")
        self.num_ratings, self.num_notes, self.num_raters = row["n"], row["notes"], row["raters"]
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
        )
        weights = self.weights.note if is_note else self.weights.rater
        # One row per entity comes back (Arrow); the batched numpy solve is milliseconds even
        # for millions of entities, and the result is needed here for the next broadcast.
        batch = stats.toPandas().sort_values(key, ignore_index=True)
        return solve_batch(batch, key=key, num_factors=self.cfg.num_factors, weights=weights)

    def release(self) -> None:
        self.by_note.unpersist()
        if self.by_rater is not None:
            self.by_rater.unpersist()


def initial_raters(problem: SparkProblem, init: DataFrame | None, cfg: MFConfig) -> pd.DataFrame:
    entities = problem.by_rater.select(RATER).distinct()
    if init is not None:
        params = warm_params(entities, init, key=RATER, num_factors=cfg.num_factors)
    else:
        bound = cfg.init_factor_bound
        if bound is None:
            bound = xavier_bound(problem.num_raters, cfg.num_factors)
        params = random_params(
            entities, key=RATER, side="rater", num_factors=cfg.num_factors, seed=cfg.seed, bound=bound
        )
    return params.toPandas().sort_values(RATER, ignore_index=True)


def fit_mf(
    ratings: DataFrame,
    cfg: MFConfig,
    *,
    note_init: DataFrame | None = None,
    rater_init: DataFrame | None = None,
    global_intercept_init: float | None = None,
) -> MFResult:
    """Fit notes, raters and mu jointly by ALS.

    Args:
        ratings: raterIdx, noteIdx, helpfulNum (cnscore.schemas.MF_RATINGS).
        cfg: lambdas, loop limits, seed.
        note_init, rater_init: optional warm starts (idx key, intercept, factor1..k); entities
            missing from them start at 0, as in the reference.
        global_intercept_init: starting mu (default 0, as the reference).

    Returns:
        MFResult; the factor signs follow the reference's rule when cfg.flip_factors.
    """
    validate_schema(ratings, MF_RATINGS, where="fit_mf")
    if use_worker(ratings, cfg):
        return _fit_in_worker(ratings, cfg, note_init, rater_init, global_intercept_init)
    problem = SparkProblem(ratings, cfg)
    mu = float(global_intercept_init or 0.0)
    if rater_init is None and note_init is not None:
        warm_notes = warm_params(
            problem.by_note.select(NOTE).distinct(), note_init, key=NOTE, num_factors=cfg.num_factors
        ).toPandas()
        raters = problem.solve(RATER, warm_notes, mu)
    else:
        raters = initial_raters(problem, rater_init, cfg)
    fitted = fit_problem(problem, raters, mu)
    outcome = fitted.outcome
    result = MFResult(
        notes=problem.to_df(outcome.notes, NOTE),
        raters=problem.to_df(fitted.raters, RATER),
        global_intercept=outcome.mu,
        objective=fitted.objective,
        train_mse=outcome.sse / problem.num_ratings,
        sweeps=fitted.sweeps,
        converged=outcome.converged,
        history=outcome.history,
        num_ratings=problem.num_ratings,
        num_notes=problem.num_notes,
        num_raters=problem.num_raters,
    )
    problem.release()
    return result


def _fit_in_worker(ratings: DataFrame, cfg: MFConfig, note_init: DataFrame | None,
                   rater_init: DataFrame | None, global_intercept_init: float | None) -> MFResult:
    """fit_mf's result from one pandas-UDF call (cfg.engine; cnscore.mf.worker)."""
    fitted = run_in_worker(ratings, cfg, note_init=note_init, rater_init=rater_init,
                           global_intercept_init=global_intercept_init)
    meta = fitted.where(F.col(SIDE) == "meta").first()
    return MFResult(
        notes=params_of(fitted, "note", cfg),
        raters=params_of(fitted, "rater", cfg),
        global_intercept=meta["mu"],
        objective=meta["objective"],
        train_mse=meta["sse"] / meta["num_ratings"],
        sweeps=meta["sweeps"],
        converged=meta["converged"],
        history=tuple(meta["history"]),
        num_ratings=meta["num_ratings"],
        num_notes=meta["num_notes"],
        num_raters=meta["num_raters"],
    )


def fit_notes_frozen(
    ratings: DataFrame, raters: DataFrame, global_intercept: float, cfg: MFConfig
) -> MFResult:
    """Final-scoring fit: raters and mu frozen, every note solved once, exactly.

    With raters frozen the objective separates by note (reference §3.7): one ridge system per
    note, penalized by rho * lambda when cfg.rating_per_note_loss_ratio = rho is set. Ratings
    by raters absent from `raters` are not used (they have no parameters).
    """
    validate_schema(ratings, MF_RATINGS, where="fit_notes_frozen")
    rater_cols = [RATER, "intercept", *factor_cols("factor", cfg.num_factors)]
    if use_worker(ratings, cfg):
        return _frozen_in_memory(ratings, raters, rater_cols, global_intercept, cfg)
    known = ratings.join(raters.select(RATER), on=RATER, how="left_semi")
    problem = SparkProblem(known, cfg, need_rater_side=False)
    used = problem.by_note.select(RATER).distinct()
    rater_params = raters.select(*rater_cols).join(used, on=RATER, how="left_semi").toPandas()
    notes = problem.solve(NOTE, rater_params, global_intercept)
    result = _frozen_result(problem, notes, rater_params, raters, global_intercept, problem.to_df(notes, NOTE))
    problem.release()
    return result


def _frozen_in_memory(ratings: DataFrame, raters: DataFrame, rater_cols: list[str], global_intercept: float,
                      cfg: MFConfig) -> MFResult:
    """fit_notes_frozen for a fit small enough for one machine (mf.engine auto or worker): the
    ratings are collected once and solved with numpy, instead of five Spark jobs of setup."""
    frame = ratings.select(RATER, NOTE, LABEL).toPandas()
    params = raters.select(*rater_cols).toPandas()
    frame = frame[frame[RATER].isin(params[RATER])]
    if frame.empty:
        raise ValueError("no ratings to fit")
    problem = LocalProblem(frame[RATER].to_numpy(), frame[NOTE].to_numpy(), frame[LABEL].to_numpy(), cfg)
    params = params[params[RATER].isin(problem.present[RATER])]
    notes = problem.solve(NOTE, params, global_intercept)
    cols = [NOTE, "intercept", *factor_cols("factor", cfg.num_factors)]
    notes_df = ratings.sparkSession.createDataFrame(notes[cols], schema=param_schema(NOTE, cfg.num_factors))
    return _frozen_result(problem, notes, params, raters, global_intercept, notes_df)


def _frozen_result(problem, notes: pd.DataFrame, rater_params: pd.DataFrame, raters: DataFrame, mu: float,
                   notes_df: DataFrame) -> MFResult:
    """The MFResult of a frozen-rater solve (either engine's problem: counts, weights)."""
    sse = float(notes["sse"].sum())
    objective = sweep_objective(problem, notes, rater_params, sse, mu)
    return MFResult(
        notes=notes_df,
        raters=raters,
        global_intercept=mu,
        objective=objective,
        train_mse=sse / problem.num_ratings,
        sweeps=1,
        converged=True,
        history=(objective,),
        num_ratings=problem.num_ratings,
        num_notes=problem.num_notes,
        num_raters=problem.num_raters,
    )
