"""Quality-sensitive matrix factorization (QS-MF).

Prediction mu + i_u + gamma_u * i_n + f_u . f_n with one gamma_u >= 0 per rater, the rater's
quality sensitivity; the objective adds lambda_gamma * sum_u (gamma_u - 1)^2 (mean form, like
the other rater terms). Two timescales, as in the paper:

- fast: gamma fixed, the ordinary ALS (each note's system is a ridge in (i_n, f_n) whose
  intercept coefficient is gamma_u);
- slow: everything else fixed, each gamma_u in closed form: the 1-D ridge regression of the
  rater's de-ideologized ratings z = r - mu - i_u - f_u . f_n on the note intercepts, shrunk
  toward 1 and clipped at 0: gamma_u = max(0, (sum z i_n + w) / (sum i_n^2 + w)).

`cfg.qs_rounds` rounds of (fast, slow), then a last fast fit with the final gammas. Finally the
gammas are normalized to mean 1 (gamma /= m, i_n *= m): predictions are unchanged and i_n is on
the baseline's scale, so status thresholds keep their meaning. With every gamma fixed at 1 the
model is the standard one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cnscore.columns import ParamCols
from cnscore.config import MFConfig
from cnscore.mf.loop import SweepOutcome, run_sweeps

log = logging.getLogger("cnscore.mf")
RATER = ParamCols.RATER_IDX


def gamma_weight(cfg: MFConfig, num_ratings: int, num_raters: int) -> float:
    """Sum-form weight of (gamma_u - 1)^2."""
    return cfg.qs_gamma_lambda * num_ratings / num_raters


def update_gamma(stats: pd.DataFrame, weight: float) -> pd.DataFrame:
    """Closed-form slow step from per-rater sums zi = sum z*i_n and ii = sum i_n^2."""
    gamma = (stats["zi"].to_numpy() + weight) / (stats["ii"].to_numpy() + weight)
    return pd.DataFrame({RATER: stats[RATER].to_numpy(), "gamma": np.maximum(gamma, 0.0)})


@dataclass(frozen=True)
class QSOutcome:
    fit: SweepOutcome  # notes (normalized i_n), raters, mu, history of the last fast phase
    gamma: pd.DataFrame  # raterIdx, gamma (mean 1)
    objective: float  # the QS-MF loss at the optimum (before normalization)
    rounds: int
    sweeps: int  # all fast sweeps together


def run_qsmf(problem, raters: pd.DataFrame, mu: float) -> QSOutcome:
    """Two-timescale QS-MF on a problem (Spark or in-memory) from initial rater parameters."""
    cfg = problem.cfg
    weight = gamma_weight(cfg, problem.num_ratings, problem.num_raters)
    gamma = pd.DataFrame({RATER: raters[RATER].to_numpy(), "gamma": 1.0})
    problem.set_gamma(gamma, weight)
    sweeps = 0
    for round_ in range(1, cfg.qs_rounds + 1):
        fit = run_sweeps(problem, raters, mu)
        sweeps += len(fit.history)
        raters, mu = fit.raters, fit.mu
        gamma = update_gamma(problem.gamma_stats(fit.notes, raters, mu), weight)
        problem.set_gamma(gamma, weight)
        log.info("QS-MF round %d: loss before gamma step %.10g, mean gamma %.4f, gamma<0.1: %d",
                 round_, fit.history[-1], gamma.gamma.mean(), int((gamma.gamma < 0.1).sum()))
    fit = run_sweeps(problem, raters, mu)
    sweeps += len(fit.history)
    scale = float(gamma["gamma"].mean())
    if scale <= 0:
        raise ValueError("QS-MF: every gamma is 0; the data carry no quality signal")
    notes = fit.notes.copy()
    notes["intercept"] *= scale
    normalized = gamma.assign(gamma=gamma["gamma"] / scale)
    out = SweepOutcome(notes, fit.raters, fit.mu, fit.sse, fit.history, fit.converged)
    return QSOutcome(out, normalized, fit.history[-1], cfg.qs_rounds, sweeps)


@dataclass(frozen=True)
class ModelFit:
    """The configured model's fit: the sweep outcome, the rater table (QS-MF adds `gamma`),
    the final loss and the number of sweeps."""

    outcome: SweepOutcome
    raters: pd.DataFrame
    objective: float
    sweeps: int


def fit_problem(problem, raters: pd.DataFrame, mu: float) -> ModelFit:
    """Standard ALS or QS-MF (problem.cfg.model) on a Spark or in-memory problem."""
    if problem.cfg.model == "qsmf":
        qs = run_qsmf(problem, raters, mu)
        return ModelFit(qs.fit, qs.fit.raters.merge(qs.gamma, on=RATER, how="left"), qs.objective, qs.sweeps)
    outcome = run_sweeps(problem, raters, mu)
    return ModelFit(outcome, outcome.raters, outcome.history[-1], len(outcome.history))
