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

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cnscore.columns import ParamCols, factor_cols
from cnscore.config import MFConfig
from cnscore.mf.init import random_params, warm_params, xavier_bound
from cnscore.mf.objective import (
    PenaltyWeights,
    apply_flips,
    flip_signs,
    intercept_shift,
    penalty_weights,
    side_penalty,
)
from cnscore.mf.solve import solve_batch
from cnscore.mf.stats import sufficient_stats
from cnscore.schemas import MF_RATINGS, validate_schema

log = logging.getLogger("cnscore.mf")

NOTE, RATER, LABEL = ParamCols.NOTE_IDX, ParamCols.RATER_IDX, ParamCols.LABEL


@dataclass(frozen=True)
class MFResult:
    """A fitted model. Parameter tables are keyed by dense index: key, intercept, factor1..k."""

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


class _Problem:
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

    def to_df(self, params: pd.DataFrame, key: str) -> DataFrame:
        cols = [key, "intercept", *factor_cols("factor", self.cfg.num_factors)]
        return self.spark.createDataFrame(params[cols], schema=param_schema(key, self.cfg.num_factors))

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


def _initial_raters(problem: _Problem, init: DataFrame | None, cfg: MFConfig) -> pd.DataFrame:
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


def _shift_intercepts(problem: _Problem, notes, raters, mu: float) -> tuple[float, float]:
    """After a sweep: the exact best shift of mu (and, when every intercept family is
    penalized and there is no diamond term, of all note and rater intercepts together).

    Updates `notes` and `raters` in place; returns the new SSE and mu. The SSE moves by an exact
    quadratic in the total shift, so no extra pass over the ratings is needed.
    """
    n, w = problem.num_ratings, problem.weights
    sse, residual = float(raters["sse"].sum()), float(raters["res"].sum())
    fit_mu = problem.cfg.fit_global_intercept
    families = [(w.note[0], len(notes), float(notes["intercept"].sum())),
                (w.rater[0], len(raters), float(raters["intercept"].sum()))]
    mu_family = [(w.mu, 1, mu)] if fit_mu else []
    shifts = None if w.note[2] > 0 else intercept_shift(families + mu_family, residual, n)
    if shifts is None:  # mu alone, in closed form (or nothing to move)
        shifts = [0.0, 0.0, (residual - w.mu * mu) / (n + w.mu) if fit_mu else 0.0]
    elif not fit_mu:
        shifts.append(0.0)
    notes["intercept"] += shifts[0]
    raters["intercept"] += shifts[1]
    total = sum(shifts)
    sse += -2.0 * total * residual + n * total * total
    return sse, mu + shifts[2]


def _sweep_objective(problem: _Problem, notes, raters, sse: float, mu: float) -> float:
    k, w = problem.cfg.num_factors, problem.weights
    total = sse + side_penalty(notes, w.note, k) + side_penalty(raters, w.rater, k) + w.mu * mu * mu
    return total / problem.num_ratings


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
    problem = _Problem(ratings, cfg)
    mu = float(global_intercept_init or 0.0)
    if rater_init is None and note_init is not None:
        warm_notes = warm_params(
            problem.by_note.select(NOTE).distinct(), note_init, key=NOTE, num_factors=cfg.num_factors
        ).toPandas()
        raters = problem.solve(RATER, warm_notes, mu)
    else:
        raters = _initial_raters(problem, rater_init, cfg)
    history: list[float] = []
    converged, started = False, time.time()
    n = problem.num_ratings
    for sweep in range(1, cfg.max_sweeps + 1):
        notes = problem.solve(NOTE, raters, mu)
        raters = problem.solve(RATER, notes, mu)
        sse, mu = _shift_intercepts(problem, notes, raters, mu)
        history.append(_sweep_objective(problem, notes, raters, sse, mu))
        change = abs(history[-2] - history[-1]) / max(abs(history[-1]), 1e-300) if sweep > 1 else np.inf
        log.info(
            "sweep %d: loss %.10g, relative change %.3g, mu %.6f, %.1fs",
            sweep, history[-1], change, mu, time.time() - started,
        )
        if change < cfg.tolerance:
            converged = True
            break
    if not converged:
        log.warning("ALS stopped at max_sweeps=%d before reaching tolerance %g", cfg.max_sweeps, cfg.tolerance)
    if cfg.flip_factors:
        flips = flip_signs(raters, cfg.num_factors)
        notes, raters = apply_flips(notes, flips, cfg.num_factors), apply_flips(raters, flips, cfg.num_factors)
    result = MFResult(
        notes=problem.to_df(notes, NOTE),
        raters=problem.to_df(raters, RATER),
        global_intercept=mu,
        objective=history[-1],
        train_mse=sse / n,
        sweeps=len(history),
        converged=converged,
        history=tuple(history),
        num_ratings=n,
        num_notes=problem.num_notes,
        num_raters=problem.num_raters,
    )
    problem.release()
    return result


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
    known = ratings.join(raters.select(RATER), on=RATER, how="left_semi")
    problem = _Problem(known, cfg, need_rater_side=False)
    used = problem.by_note.select(RATER).distinct()
    rater_params = raters.select(*rater_cols).join(used, on=RATER, how="left_semi").toPandas()
    notes = problem.solve(NOTE, rater_params, global_intercept)
    sse = float(notes["sse"].sum())
    objective = _sweep_objective(problem, notes, rater_params, sse, global_intercept)
    result = MFResult(
        notes=problem.to_df(notes, NOTE),
        raters=raters,
        global_intercept=global_intercept,
        objective=objective,
        train_mse=sse / problem.num_ratings,
        sweeps=1,
        converged=True,
        history=(objective,),
        num_ratings=problem.num_ratings,
        num_notes=problem.num_notes,
        num_raters=problem.num_raters,
    )
    problem.release()
    return result
