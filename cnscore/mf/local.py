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
from cnscore.mf.loop import run_sweeps
from cnscore.mf.objective import penalty_weights
from cnscore.mf.solve import solve_batch, stat_names

NOTE, RATER = ParamCols.NOTE_IDX, ParamCols.RATER_IDX


class LocalProblem:
    """Ratings as three aligned arrays (dense non-negative int ids, float labels)."""

    def __init__(self, rater: np.ndarray, note: np.ndarray, label: np.ndarray, cfg: MFConfig):
        if not len(label):
            raise ValueError("no ratings to fit")
        self.cfg = cfg
        self.ids = {RATER: np.asarray(rater, np.int64), NOTE: np.asarray(note, np.int64)}
        self.label = np.asarray(label, float)
        self.present = {key: np.unique(ids) for key, ids in self.ids.items()}
        self.num_ratings = len(self.label)
        self.num_notes, self.num_raters = len(self.present[NOTE]), len(self.present[RATER])
        self.weights = penalty_weights(cfg, self.num_ratings, self.num_notes, self.num_raters)

    def solve(self, key: str, fixed: pd.DataFrame, mu: float) -> pd.DataFrame:
        """One half-step: statistics by bincount, then the shared batched solve."""
        fixed_key = RATER if key == NOTE else NOTE
        k = self.cfg.num_factors
        size = int(self.ids[fixed_key].max()) + 1
        lookup = np.zeros((size, k + 1))  # entities absent from `fixed` contribute zeros
        rows = fixed[fixed_key].to_numpy()
        lookup[rows] = fixed[["intercept", *factor_cols("factor", k)]].to_numpy()
        gathered = lookup[self.ids[fixed_key]]
        y = self.label - mu - gathered[:, 0]
        x = np.column_stack([np.ones(self.num_ratings), gathered[:, 1:]])
        keys, n_keys = self.ids[key], int(self.ids[key].max()) + 1
        present = self.present[key]
        gram_names, rhs_names = stat_names(k)
        stats = {key: present}
        for i, j, name in gram_names:
            stats[name] = np.bincount(keys, x[:, i] * x[:, j], n_keys)[present]
        for i, name in enumerate(rhs_names):
            stats[name] = np.bincount(keys, y * x[:, i], n_keys)[present]
        stats["yy"] = np.bincount(keys, y * y, n_keys)[present]
        weights = self.weights.note if key == NOTE else self.weights.rater
        return solve_batch(pd.DataFrame(stats), key=key, num_factors=k, weights=weights)


@dataclass(frozen=True)
class LocalFit:
    notes: pd.DataFrame  # noteIdx, intercept, factor1..k
    raters: pd.DataFrame  # raterIdx, intercept, factor1..k
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
    outcome = run_sweeps(problem, rater_init, float(global_intercept_init))
    cols = ["intercept", *factor_cols("factor", cfg.num_factors)]
    return LocalFit(
        notes=outcome.notes[[NOTE, *cols]],
        raters=outcome.raters[[RATER, *cols]],
        global_intercept=outcome.mu,
        objective=outcome.history[-1],
        sweeps=len(outcome.history),
        converged=outcome.converged,
    )
