"""The same ALS in memory with numpy: for one worker's share of ratings (a group model inside a
grouped pandas UDF) and as the single-core baseline of the benchmarks.

It runs the shared sweep loop (cnscore.mf.loop) and the same batched solve as the Spark engine;
only the sufficient statistics are computed with `np.bincount` instead of a Spark aggregation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cnscore.columns import ParamCols, factor_cols
from cnscore.config import MFConfig
from cnscore.mf.objective import penalty_weights
from cnscore.mf.qsmf import fit_problem
from cnscore.mf.solve import solve_batch, stat_names

NOTE, RATER = ParamCols.NOTE_IDX, ParamCols.RATER_IDX


class LocalProblem:
    """Ratings as three aligned arrays (dense non-negative int ids, float labels), plus an
    optional fourth: each rating's weight on its squared error (None: every rating weighs 1)."""

    def __init__(self, rater: np.ndarray, note: np.ndarray, label: np.ndarray, cfg: MFConfig,
                 weight: np.ndarray | None = None):
        if not len(label):
            raise ValueError("no ratings to fit")
        self.cfg = cfg
        self.ids = {RATER: np.asarray(rater, np.int64), NOTE: np.asarray(note, np.int64)}
        self.label = np.asarray(label, float)
        self.present = {key: np.unique(ids) for key, ids in self.ids.items()}
        self.num_ratings = len(self.label)
        self.rating_weight = None if weight is None else check_rating_weights(np.asarray(weight, float), cfg)
        # The loop's intercept shift needs sum w (= N unweighted, kept as the same int).
        self.total_weight = self.num_ratings if weight is None else float(self.rating_weight.sum())
        self.num_notes, self.num_raters = len(self.present[NOTE]), len(self.present[RATER])
        self.weights = penalty_weights(cfg, self.num_ratings, self.num_notes, self.num_raters)
        self.gamma: pd.DataFrame | None = None  # QS-MF (see cnscore.mf.spark_problem.SparkProblem.set_gamma)
        self.gamma_weight = 0.0
        self._rating_gamma = np.ones(self.num_ratings)

    def set_gamma(self, gamma: pd.DataFrame, weight: float) -> None:
        self.gamma, self.gamma_weight = gamma, weight
        lookup = np.ones(int(self.ids[RATER].max()) + 1)
        lookup[gamma[RATER].to_numpy()] = gamma["gamma"].to_numpy()
        self._rating_gamma = lookup[self.ids[RATER]]

    def gamma_penalty(self) -> float:
        if self.gamma is None:
            return 0.0
        return self.gamma_weight * float(((self.gamma["gamma"] - 1.0) ** 2).sum())

    def _gather(self, params: pd.DataFrame, key: str) -> np.ndarray:
        """Per rating: (intercept, factor1..k) of its `key` entity (zeros when absent)."""
        k = self.cfg.num_factors
        lookup = np.zeros((int(self.ids[key].max()) + 1, k + 1))
        lookup[params[key].to_numpy()] = params[["intercept", *factor_cols("factor", k)]].to_numpy()
        return lookup[self.ids[key]]

    def gamma_stats(self, notes: pd.DataFrame, raters: pd.DataFrame, mu: float) -> pd.DataFrame:
        note_p, rater_p = self._gather(notes, NOTE), self._gather(raters, RATER)
        z = self.label - mu - rater_p[:, 0] - np.sum(note_p[:, 1:] * rater_p[:, 1:], axis=1)
        n_keys, present = int(self.ids[RATER].max()) + 1, self.present[RATER]
        return pd.DataFrame({
            RATER: present,
            "zi": np.bincount(self.ids[RATER], z * note_p[:, 0], n_keys)[present],
            "ii": np.bincount(self.ids[RATER], note_p[:, 0] ** 2, n_keys)[present],
        })

    def solve(self, key: str, fixed: pd.DataFrame, mu: float) -> pd.DataFrame:
        """One half-step: statistics by bincount, then the shared batched solve."""
        fixed_key = RATER if key == NOTE else NOTE
        k = self.cfg.num_factors
        gathered = self._gather(fixed, fixed_key)
        # QS-MF: the note intercept's coefficient is the rater's gamma (1 in standard MF).
        coef = self._rating_gamma
        y = self.label - mu - (gathered[:, 0] if key == NOTE else coef * gathered[:, 0])
        x = np.column_stack([coef if key == NOTE else np.ones(self.num_ratings), gathered[:, 1:]])
        keys, n_keys = self.ids[key], int(self.ids[key].max()) + 1
        present, w = self.present[key], self.rating_weight

        def total(term: np.ndarray) -> np.ndarray:  # unweighted: the exact same sums as ever
            return np.bincount(keys, term if w is None else w * term, n_keys)[present]

        gram_names, rhs_names = stat_names(k)
        stats = {key: present}
        for i, j, name in gram_names:
            stats[name] = total(x[:, i] * x[:, j])
        for i, name in enumerate(rhs_names):
            stats[name] = total(y * x[:, i])
        stats["yy"] = total(y * y)
        weights = self.weights.note if key == NOTE else self.weights.rater
        return solve_batch(pd.DataFrame(stats), key=key, num_factors=k, weights=weights)

    def train_sse(self, outcome) -> float:
        """The plain sum of squared errors at a fit's solution (the loop's SSE is weighted when
        the ratings are)."""
        if self.rating_weight is None:
            return outcome.sse
        note_p, rater_p = self._gather(outcome.notes, NOTE), self._gather(outcome.raters, RATER)
        pred = outcome.mu + note_p[:, 0] + rater_p[:, 0] + np.sum(note_p[:, 1:] * rater_p[:, 1:], axis=1)
        return float(np.sum((self.label - pred) ** 2))


def solve_notes_frozen(rater: np.ndarray, note: np.ndarray, label: np.ndarray, rater_params: pd.DataFrame,
                       global_intercept: float, cfg: MFConfig) -> tuple[LocalProblem, pd.DataFrame, pd.DataFrame]:
    """The frozen-rater refit in memory: one note half-step with the raters (raterIdx,
    intercept, factor1..k) and mu held fixed. Every rating's rater must be in rater_params.

    Returns (the problem, the solved notes as `LocalProblem.solve` gives them, the rater
    parameters of the raters present).
    """
    problem = LocalProblem(rater, note, label, cfg)
    used = rater_params[rater_params[RATER].isin(problem.present[RATER])]
    return problem, problem.solve(NOTE, used, global_intercept), used


def check_rating_weights(weight: np.ndarray, cfg: MFConfig) -> np.ndarray:
    """Rating weights must be finite and >= 0, and the weighted loss exists for standard MF only."""
    if cfg.model != "standard":
        raise ValueError("rating weights are supported only with MFConfig.model 'standard'")
    if not (np.all(np.isfinite(weight)) and np.all(weight >= 0)):
        raise ValueError("rating weights must be finite and >= 0")
    return weight


@dataclass(frozen=True)
class LocalFit:
    notes: pd.DataFrame  # noteIdx, intercept, factor1..k
    raters: pd.DataFrame  # raterIdx, intercept, factor1..k (+ gamma for QS-MF)
    global_intercept: float
    objective: float
    sweeps: int
    converged: bool


def fit_mf_local(
    rater: np.ndarray,
    note: np.ndarray,
    label: np.ndarray,
    cfg: MFConfig,
    rater_init: pd.DataFrame,
    global_intercept_init: float = 0.0,
) -> LocalFit:
    """Fit by ALS in memory from the given initial rater parameters (raterIdx, intercept,
    factor1..k), e.g. cnscore.mf.init.random_params collected once."""
    problem = LocalProblem(rater, note, label, cfg)
    cols = ["intercept", *factor_cols("factor", cfg.num_factors)]
    fitted = fit_problem(problem, rater_init, float(global_intercept_init))
    outcome = fitted.outcome
    extra = ["gamma"] if "gamma" in fitted.raters.columns else []
    return LocalFit(
        notes=outcome.notes[[NOTE, *cols]],
        raters=fitted.raters[[RATER, *cols, *extra]],
        global_intercept=outcome.mu,
        objective=fitted.objective,
        sweeps=fitted.sweeps,
        converged=outcome.converged,
    )
