"""The normalized loss (shared docs/reference.md §3.9): its rating weights on hand-computed
frames, and the weighted ALS it fits (against a direct minimizer, and engine against engine)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from chispa import assert_approx_df_equality

from cnscore.config import MFConfig, NormalizedLoss
from cnscore.mf.als import fit_mf, fit_notes_frozen
from cnscore.mf.local import LocalProblem
from cnscore.mf.loop import run_sweeps
from cnscore.mf.normalized_loss import rating_weights
from cnscore.schemas import MF_RATINGS, MF_WEIGHT, MF_WEIGHTED_RATINGS
from tests.numerics.direct import minimize_direct

TRIAL = NormalizedLoss(global_sign_norm=True, note_sign_alpha=None, note_norm_exp=0.0, rater_norm_exp=-0.25)
RATERS = "raterIdx int, factor1 double"
RATINGS = "raterIdx int, noteIdx int, helpfulNum double"
# Raters 0 and 1 are on the f_u <= 0 side (a zero factor counts there), 2 and 3 on f_u > 0.
FACTORS = [(0, -0.5), (1, 0.0), (2, 0.3), (3, 0.8)]
# Notes 10 and 11 have both sides, note 12 only rater 0.
PAIRS = [(0, 10), (0, 11), (0, 12), (1, 10), (2, 10), (3, 11)]


def _expected(spark, weights: dict[tuple[int, int], float]):
    rows = [(u, n, 1.0, weights[(u, n)]) for u, n in PAIRS]
    return spark.createDataFrame(rows, f"{RATINGS}, {MF_WEIGHT} double")


def _weights(spark, settings: NormalizedLoss):
    ratings = spark.createDataFrame([(u, n, 1.0) for u, n in PAIRS], RATINGS)
    raters = spark.createDataFrame(FACTORS, RATERS)
    return rating_weights(ratings, raters, settings)


def test_trial_weights_balance_signs_then_damp_active_raters(spark):
    # 4 ratings on the f_u <= 0 side, 2 on f_u > 0: the positive ones weigh 4/2 = 2 (total 8),
    # then all by 6/8: 0.75 (<= 0 side) and 1.5 (> 0). Rater totals: 0: 2.25 (three ratings),
    # 1: 0.75, 2: 1.5, 3: 1.5; each rating times its rater's total ** -0.25.
    # (Damping first, as a wrong order would, gives rater 0's ratings 3 ** -0.25 before balancing.)
    neg_0, neg_1, pos = 0.75 * 2.25**-0.25, 0.75 * 0.75**-0.25, 1.5 * 1.5**-0.25
    expected = {(0, 10): neg_0, (0, 11): neg_0, (0, 12): neg_0, (1, 10): neg_1, (2, 10): pos, (3, 11): pos}
    assert_approx_df_equality(_weights(spark, TRIAL), _expected(spark, expected), precision=1e-12,
                              ignore_row_order=True, ignore_nullable=True)


def test_note_sign_and_note_norm_weights(spark):
    settings = NormalizedLoss(global_sign_norm=False, note_sign_alpha=1.0, note_norm_exp=-0.5, rater_norm_exp=0.0)
    # Note 10: two ratings <= 0, one > 0: the positive one times (1 + 2) / (1 + 1) = 1.5, then all by
    # 3 / 3.5 (the note's old / new total): 6/7, 6/7, 9/7. Note 11: one each side: (1+1)/(1+1) = 1.
    # Note 12: one side only: unchanged. Then times the note's total ** -0.5: 3, 2 and 1.
    expected = {(0, 10): 6 / 7 / 3**0.5, (1, 10): 6 / 7 / 3**0.5, (2, 10): 9 / 7 / 3**0.5,
                (0, 11): 2**-0.5, (3, 11): 2**-0.5, (0, 12): 1.0}
    assert_approx_df_equality(_weights(spark, settings), _expected(spark, expected), precision=1e-12,
                              ignore_row_order=True, ignore_nullable=True)


def _problem(seed=5, n_raters=24, n_notes=15, per_rater=8):
    rng = np.random.default_rng(seed)
    view_u, view_n, quality = rng.normal(0, 1, n_raters), rng.normal(0, 0.5, n_notes), rng.normal(0, 0.3, n_notes)
    rows = [(u, int(n), float(np.clip(np.round((0.4 + quality[n] + view_u[u] * view_n[n]
                                                + rng.normal(0, 0.2)) * 2) / 2, 0, 1)))
            for u in range(n_raters) for n in rng.choice(n_notes, per_rater, replace=False)]
    frame = pd.DataFrame(rows, columns=["raterIdx", "noteIdx", "helpfulNum"])
    frame["ratingWeight"] = rng.uniform(0.2, 3.0, len(frame))
    return frame


def test_weighted_als_matches_a_direct_minimizer():
    frame, cfg = _problem(), MFConfig(tolerance=1e-12, max_sweeps=2000)
    init = pd.DataFrame({"raterIdx": np.arange(24), "intercept": 0.0,
                         "factor1": np.random.default_rng(1).uniform(-0.4, 0.4, 24)})
    args = (frame.raterIdx.to_numpy(), frame.noteIdx.to_numpy(), frame.helpfulNum.to_numpy())
    weight = frame.ratingWeight.to_numpy()
    fit = run_sweeps(LocalProblem(*args, cfg, weight), init, 0.0)
    lam = dict(note_intercept=cfg.note_intercept_lambda, note_factor=cfg.note_factor_lambda,
               rater_intercept=cfg.rater_intercept_lambda, rater_factor=cfg.rater_factor_lambda,
               mu=cfg.global_intercept_lambda)
    direct_loss, mu, iu, fu, i_n, fn = minimize_direct(*args, 24, 15, 1, lam, weight=weight)
    assert fit.converged
    assert fit.history[-1] == pytest.approx(direct_loss, rel=1e-7)
    assert fit.mu == pytest.approx(mu, abs=1e-4)
    np.testing.assert_allclose(fit.notes.sort_values("noteIdx").intercept, i_n, atol=1e-4)
    np.testing.assert_allclose(fit.raters.sort_values("raterIdx").intercept, iu, atol=1e-4)
    sign = np.sign(np.dot(fit.notes.sort_values("noteIdx").factor1, fn[:, 0]))
    np.testing.assert_allclose(fit.notes.sort_values("noteIdx").factor1, sign * fn[:, 0], atol=1e-4)
    # The weights matter: the unweighted optimum is elsewhere.
    plain_loss = minimize_direct(*args, 24, 15, 1, lam)[0]
    assert abs(plain_loss - direct_loss) > 1e-3


def test_unit_weights_give_the_unweighted_fit():
    frame, cfg = _problem(), MFConfig(max_sweeps=30, tolerance=1e-14)
    init = pd.DataFrame({"raterIdx": np.arange(24), "intercept": 0.0, "factor1": np.linspace(-0.3, 0.3, 24)})
    args = (frame.raterIdx.to_numpy(), frame.noteIdx.to_numpy(), frame.helpfulNum.to_numpy(), cfg)
    plain = run_sweeps(LocalProblem(*args), init, 0.0)
    ones = run_sweeps(LocalProblem(*args, np.ones(len(frame))), init, 0.0)
    np.testing.assert_allclose(ones.history, plain.history, rtol=1e-12)
    np.testing.assert_allclose(ones.notes[["intercept", "factor1"]], plain.notes[["intercept", "factor1"]],
                               atol=1e-12)


@pytest.fixture(scope="module")
def weighted(spark):
    return spark.createDataFrame(_problem(), MF_WEIGHTED_RATINGS)


def test_weighted_fit_in_a_worker_equals_the_distributed_fit(weighted):
    cfg = MFConfig(seed=3, tolerance=1e-12, max_sweeps=2, num_partitions=1)  # a sweep cap: same stop
    distributed, in_worker = fit_mf(weighted, cfg), fit_mf(weighted, replace(cfg, engine="worker"))
    assert distributed.sweeps == in_worker.sweeps == 2
    assert distributed.objective == pytest.approx(in_worker.objective, rel=1e-9)
    assert distributed.train_mse == pytest.approx(in_worker.train_mse, rel=1e-9)
    assert distributed.global_intercept == pytest.approx(in_worker.global_intercept, abs=1e-9)
    for side, key in (("notes", "noteIdx"), ("raters", "raterIdx")):
        a, b = (getattr(f, side).toPandas().sort_values(key, ignore_index=True) for f in (distributed, in_worker))
        np.testing.assert_allclose(a[["intercept", "factor1"]], b[["intercept", "factor1"]], atol=1e-8)
    # train_mse is the plain MSE (the reference's train error), the objective the weighted loss.
    notes, raters = (getattr(distributed, s).toPandas().set_index(k) for s, k in (("notes", "noteIdx"),
                                                                                  ("raters", "raterIdx")))
    frame = weighted.toPandas()
    pred = (distributed.global_intercept + notes.intercept[frame.noteIdx].to_numpy()
            + raters.intercept[frame.raterIdx].to_numpy()
            + notes.factor1[frame.noteIdx].to_numpy() * raters.factor1[frame.raterIdx].to_numpy())
    assert distributed.train_mse == pytest.approx(np.mean((frame.helpfulNum - pred) ** 2), rel=1e-9)


def test_final_refit_with_a_normalized_loss_trains_raters_and_mu(weighted):
    """The reference's round 2 is a new model: the "frozen" raters and mu move (§3.9)."""
    ratings = weighted.select(*MF_RATINGS.fieldNames())
    cfg = MFConfig(seed=3, max_sweeps=40, engine="worker", rating_per_note_loss_ratio=8.0, flip_factors=False)
    start = fit_mf(ratings, cfg)
    refit = fit_notes_frozen(ratings, start.raters, start.global_intercept, replace(cfg, normalized_loss=TRIAL))
    frozen = fit_notes_frozen(ratings, start.raters, start.global_intercept, cfg)
    assert frozen.global_intercept == start.global_intercept != refit.global_intercept
    moved = start.raters.toPandas().sort_values("raterIdx").intercept.to_numpy()
    assert not np.allclose(refit.raters.toPandas().sort_values("raterIdx").intercept.to_numpy(), moved)
    assert refit.sweeps > 1 and refit.num_ratings == frozen.num_ratings
