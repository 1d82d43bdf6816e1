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

The problem (steps 1-3) is cnscore.mf.spark_problem.SparkProblem; small fits run the same loop in
one worker instead (cnscore.mf.worker). Ratings may carry a weight per squared error
(cnscore.schemas.MF_WEIGHT), which the normalized-loss refit uses (cnscore.mf.normalized_loss).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import ParamCols, factor_cols
from cnscore.config import MFConfig
from cnscore.mf.init import random_params, warm_params, xavier_bound
from cnscore.mf.local import solve_notes_frozen
from cnscore.mf.loop import sweep_objective
from cnscore.mf.qsmf import fit_problem
from cnscore.mf.spark_problem import SparkProblem, param_schema
from cnscore.mf.worker import SIDE, params_of, run_in_worker, use_worker
from cnscore.schemas import MF_RATINGS, MF_WEIGHT, MF_WEIGHTED_RATINGS, validate_schema

NOTE, RATER, LABEL = ParamCols.NOTE_IDX, ParamCols.RATER_IDX, ParamCols.LABEL


@dataclass(frozen=True)
class MFResult:
    """A fitted model. Parameter tables are keyed by dense index: key, intercept, factor1..k
    (QS-MF rater tables add `gamma`)."""

    notes: DataFrame
    raters: DataFrame
    global_intercept: float
    objective: float  # the reference's loss: mean (weighted) squared error + mean-form penalties
    train_mse: float  # plain mean squared error, weighted fit or not (the reference's train error)
    sweeps: int
    converged: bool
    history: tuple[float, ...]
    num_ratings: int
    num_notes: int
    num_raters: int


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
        ratings: raterIdx, noteIdx, helpfulNum (cnscore.schemas.MF_RATINGS), optionally a
            ratingWeight column (MF_WEIGHTED_RATINGS): then each squared error is weighted.
        cfg: lambdas, loop limits, seed; with cfg.normalized_loss the fit runs the two rounds
            of §3.9 (cnscore.mf.normalized_loss).
        note_init, rater_init: optional warm starts (idx key, intercept, factor1..k); entities
            missing from them start at 0, as in the reference.
        global_intercept_init: starting mu (default 0, as the reference).

    Returns:
        MFResult; the factor signs follow the reference's rule when cfg.flip_factors.
    """
    schema = MF_WEIGHTED_RATINGS if MF_WEIGHT in ratings.columns else MF_RATINGS
    validate_schema(ratings, schema, where="fit_mf")
    if cfg.normalized_loss is not None:
        from cnscore.mf.normalized_loss import fit_two_rounds  # imported here: it calls fit_mf

        return fit_two_rounds(ratings, cfg, note_init=note_init, rater_init=rater_init,
                              global_intercept_init=global_intercept_init)
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
        train_mse=problem.train_sse(outcome) / problem.num_ratings,
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
    if meta is None:  # the UDF had no group to run: an empty input, as the other engines refuse
        raise ValueError("no ratings to fit")
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
    by raters absent from `raters` are not used (they have no parameters). With
    cfg.normalized_loss, the reference's second round refits raters and mu too
    (cnscore.mf.normalized_loss.refit_final).
    """
    validate_schema(ratings, MF_RATINGS, where="fit_notes_frozen")
    if MF_WEIGHT in ratings.columns:
        raise ValueError("fit_notes_frozen takes unweighted ratings (a normalized loss weighs its own refit)")
    if cfg.normalized_loss is not None:
        from cnscore.mf.normalized_loss import refit_final  # imported here: it calls fit_mf

        return refit_final(ratings, raters, cfg)
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
    problem, notes, params = solve_notes_frozen(frame[RATER].to_numpy(), frame[NOTE].to_numpy(),
                                                frame[LABEL].to_numpy(), params, global_intercept, cfg)
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
