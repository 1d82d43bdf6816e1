"""A whole ALS fit inside one pandas-UDF call: the engine for small models (group models).

The distributed engine (cnscore.mf.als) pays a few Spark jobs per half-step; for a model of a
few hundred thousand ratings that overhead, not arithmetic, is the cost, and models run one
after another leave the cluster idle. Here the model's ratings go to one worker in one grouped
pandas UDF, which runs the same sweep loop and the same batched solve in memory
(cnscore.mf.local). Several such fits submitted from different threads run on different
workers at the same time (cnscore.scoring.multi_model runs group models that way).

Results match the distributed engine's up to floating-point summation order: initial
parameters come from the same per-entity hashes (cnscore.mf.init), computed in Spark before
the call, and the loop, the solve, the stopping rule and the sign rule are shared.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import ParamCols, factor_cols
from cnscore.config import MFConfig
from cnscore.mf.init import random_params, warm_params, xavier_bound
from cnscore.mf.local import LocalProblem
from cnscore.mf.qsmf import fit_problem
from cnscore.schemas import MF_WEIGHT

NOTE, RATER, LABEL = ParamCols.NOTE_IDX, ParamCols.RATER_IDX, ParamCols.LABEL
SIDE, IDX = "side", "idx"  # output rows: side "note" / "rater" / "meta"
MODEL = "_model"  # the single group key
INIT = "init_"  # prefix of the initial-parameter columns joined onto the ratings
META_COLS = ("mu double, objective double, sse double, sweeps int, converged boolean, "
             "history array<double>, num_ratings long, num_notes long, num_raters long")


def use_worker(ratings: DataFrame, cfg: MFConfig) -> bool:
    """Whether this fit runs in one worker: engine "worker", or "auto" and at most
    cfg.worker_max_ratings ratings (one count job; "distributed" costs nothing)."""
    if cfg.engine == "distributed":
        return False
    return cfg.engine == "worker" or ratings.limit(cfg.worker_max_ratings + 1).count() <= cfg.worker_max_ratings


def settle_engine(cfg: MFConfig, model_ratings: int) -> MFConfig:
    """cfg for the fits of a model of `model_ratings` ratings: engine "auto" becomes "worker"
    when the whole model is within cfg.worker_max_ratings, since each of its fits reads a subset
    of those ratings (plus, in pseudo-rater refits, a few per note), which "auto" would send to
    the worker anyway. That saves each fit's count job, which computes the fit's input a
    second time. Otherwise cfg is returned unchanged: "auto" then decides fit by fit."""
    if cfg.engine != "auto" or model_ratings > cfg.worker_max_ratings:
        return cfg
    return dataclasses.replace(cfg, engine="worker")


def output_schema(num_factors: int) -> str:
    params = ", ".join(f"{c} double" for c in ["intercept", *factor_cols("factor", num_factors)])
    return f"{SIDE} string, {IDX} int, {params}, gamma double, {META_COLS}"


def with_initial_params(ratings: DataFrame, cfg: MFConfig, *, note_init: DataFrame | None,
                        rater_init: DataFrame | None) -> tuple[DataFrame, str, bool]:
    """Ratings plus their starting entity's parameters (init_intercept, init_factor1..k).

    As in fit_mf: given rater parameters win, else given note parameters (raters are then
    solved from them first), else hashed random rater factors. Returns (ratings with init
    columns, the side they describe, whether the factors still need the Xavier scale, which
    depends on the rater count the worker knows)."""
    k = cfg.num_factors
    side = NOTE if rater_init is None and note_init is not None else RATER
    entities = ratings.select(side).distinct()
    scale_later = False
    if side == NOTE:
        init = warm_params(entities, note_init, key=NOTE, num_factors=k)
    elif rater_init is not None:
        init = warm_params(entities, rater_init, key=RATER, num_factors=k)
    else:
        # Unit bound now, times sqrt(6 / (n + k)) in the worker: (2u - 1) * 1 * b == (2u - 1) * b.
        scale_later = cfg.init_factor_bound is None
        bound = 1.0 if scale_later else cfg.init_factor_bound
        init = random_params(entities, key=RATER, side="rater", num_factors=k, seed=cfg.seed, bound=bound)
    names = ["intercept", *factor_cols("factor", k)]
    renamed = init.select(side, *[F.col(n).alias(INIT + n) for n in names])
    weight = [MF_WEIGHT] if MF_WEIGHT in ratings.columns else []  # a weighted fit's weights
    return ratings.select(RATER, NOTE, LABEL, *weight).join(renamed, on=side), side, scale_later


def _start(pdf: pd.DataFrame, side: str, k: int) -> pd.DataFrame:
    names = ["intercept", *factor_cols("factor", k)]
    first = pdf[[side, *[INIT + n for n in names]]].drop_duplicates(side).sort_values(side, ignore_index=True)
    return first.rename(columns={INIT + n: n for n in names})


def _rows(params: pd.DataFrame, key: str, side: str, k: int) -> pd.DataFrame:
    out = params[[key, "intercept", *factor_cols("factor", k)]].rename(columns={key: IDX})
    out.insert(0, SIDE, side)
    out["gamma"] = params["gamma"] if "gamma" in params.columns else np.nan
    return out


def fit_in_worker(pdf: pd.DataFrame, cfg: MFConfig, side: str, scale_later: bool, mu: float) -> pd.DataFrame:
    """The pandas-UDF body: one model's ratings in, note/rater/meta rows out."""
    k = cfg.num_factors
    weight = pdf[MF_WEIGHT].to_numpy() if MF_WEIGHT in pdf.columns else None
    problem = LocalProblem(pdf[RATER].to_numpy(), pdf[NOTE].to_numpy(), pdf[LABEL].to_numpy(), cfg, weight)
    start = _start(pdf, side, k)
    if scale_later:
        start[factor_cols("factor", k)] *= xavier_bound(problem.num_raters, k)
    raters = problem.solve(RATER, start, mu) if side == NOTE else start
    fitted = fit_problem(problem, raters, mu)
    outcome = fitted.outcome
    # "sse" is the plain squared error (the train MSE's numerator), also for weighted fits.
    meta = pd.DataFrame({SIDE: ["meta"], IDX: [-1], "mu": [outcome.mu], "objective": [fitted.objective],
                         "sse": [problem.train_sse(outcome)], "sweeps": [fitted.sweeps],
                         "converged": [outcome.converged],
                         "history": [list(outcome.history)], "num_ratings": [problem.num_ratings],
                         "num_notes": [problem.num_notes], "num_raters": [problem.num_raters]})
    out = pd.concat([_rows(outcome.notes, NOTE, "note", k), _rows(fitted.raters, RATER, "rater", k), meta],
                    ignore_index=True)
    out["history"] = [h if isinstance(h, list) else None for h in out["history"]]  # not NaN: not an array
    return out.astype({IDX: "int32", "sweeps": "Int32", "num_ratings": "Int64", "num_notes": "Int64",
                       "num_raters": "Int64", "converged": "boolean"})


def run_in_worker(ratings: DataFrame, cfg: MFConfig, *, note_init: DataFrame | None = None,
                  rater_init: DataFrame | None = None, global_intercept_init: float | None = None) -> DataFrame:
    """Fit in one pandas-UDF call; the output rows (see output_schema), checkpointed."""
    prepared, side, scale_later = with_initial_params(ratings, cfg, note_init=note_init, rater_init=rater_init)
    mu = float(global_intercept_init or 0.0)

    def body(pdf: pd.DataFrame) -> pd.DataFrame:
        return fit_in_worker(pdf.drop(columns=[MODEL]), cfg, side, scale_later, mu)

    # One group: the whole model in one call. The checkpoint runs the fit exactly once.
    grouped = prepared.withColumn(MODEL, F.lit(0)).groupBy(MODEL)
    return grouped.applyInPandas(body, output_schema(cfg.num_factors)).localCheckpoint(eager=True)


def params_of(fitted: DataFrame, side: str, cfg: MFConfig) -> DataFrame:
    """The note or rater table (key, intercept, factor1..k; QS-MF raters add gamma)."""
    key = NOTE if side == "note" else RATER
    cols = [F.col(IDX).alias(key), "intercept", *factor_cols("factor", cfg.num_factors)]
    if side == "rater" and cfg.model == "qsmf":
        cols.append("gamma")
    return fitted.where(F.col(SIDE) == side).select(*cols)
