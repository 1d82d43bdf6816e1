"""QS-MF: reduces to the standard model at gamma = 1, its closed-form gamma step, and what it
buys on planted data with bad raters."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar

from cnscore.config import MFConfig
from cnscore.mf.local import LocalProblem, fit_mf_local
from cnscore.mf.loop import run_sweeps
from cnscore.mf.qsmf import update_gamma
from cnscore.synthetic import PlantedModel, generate

LEVEL = {"NOT_HELPFUL": 0.0, "SOMEWHAT_HELPFUL": 0.5, "HELPFUL": 1.0}


def _arrays(data):
    ratings = data.ratings
    raters, rater_idx = np.unique(ratings.raterParticipantId, return_inverse=True)
    notes, note_idx = np.unique(ratings.noteId, return_inverse=True)
    label = ratings.helpfulnessLevel.map(LEVEL).to_numpy()
    return raters, notes, rater_idx, note_idx, label


def _init(num_raters, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"raterIdx": np.arange(num_raters), "intercept": 0.0,
                         "factor1": rng.uniform(-0.05, 0.05, num_raters)})


def _zscored_mse(estimate, truth):
    z = lambda a: (a - a.mean()) / a.std()  # noqa: E731
    return float(np.mean((z(estimate) - z(truth)) ** 2))


def _auc(good, bad):
    """P(score of a random good rater > that of a random bad one), ties half."""
    return float(np.mean(good[:, None] > bad[None, :]) + 0.5 * np.mean(good[:, None] == bad[None, :]))


def test_gamma_fixed_at_one_is_the_standard_model():
    raters, _, u, n, r = _arrays(generate(400, 100, 6000, seed=4))
    cfg = MFConfig(tolerance=1e-12, max_sweeps=500)
    standard = run_sweeps(LocalProblem(u, n, r, cfg), _init(len(raters)), 0.0)
    fixed = LocalProblem(u, n, r, cfg)
    fixed.set_gamma(pd.DataFrame({"raterIdx": np.arange(len(raters)), "gamma": 1.0}), 1.0)
    qs = run_sweeps(fixed, _init(len(raters)), 0.0)
    assert qs.history[-1] == pytest.approx(standard.history[-1], rel=1e-9)
    np.testing.assert_allclose(qs.notes.intercept, standard.notes.intercept, atol=1e-5)
    np.testing.assert_allclose(qs.notes.factor1, standard.notes.factor1, atol=1e-5)


@pytest.mark.parametrize("slope", [0.8, -0.5])  # -0.5: the unconstrained optimum is negative
def test_closed_form_gamma_step_is_the_constrained_minimum(slope):
    rng = np.random.default_rng(1)
    i_n = rng.normal(0, 0.3, 25)
    z = slope * i_n + rng.normal(0, 0.1, 25)
    weight = 0.7

    def objective(g):  # the slow step's objective for one rater: sum (z - g i_n)^2 + w (g - 1)^2
        return np.sum((z - g * i_n) ** 2) + weight * (g - 1.0) ** 2

    direct = minimize_scalar(objective, bounds=(0.0, 10.0), method="bounded", options={"xatol": 1e-12})
    stats = pd.DataFrame({"raterIdx": [0], "zi": [z @ i_n], "ii": [i_n @ i_n]})
    got = update_gamma(stats, weight).gamma.iloc[0]
    assert got == pytest.approx(direct.x, abs=1e-6)
    if slope < 0:
        assert got == 0.0


@pytest.fixture(scope="module")
def bad_rater_fits():
    data = generate(3000, 600, 60_000, seed=2, model=PlantedModel(bad_rater_fraction=0.2))
    raters, notes, u, n, r = _arrays(data)
    init = _init(len(raters))
    base = fit_mf_local(u, n, r, MFConfig(), init)
    qs = fit_mf_local(u, n, r, MFConfig(model="qsmf"), init)
    return data, raters, notes, u, base, qs


def test_gamma_separates_bad_from_good_raters(bad_rater_fits):
    data, raters, _, u, _, qs = bad_rater_fits
    kind = data.truth_raters.set_index("raterParticipantId").loc[raters, "kind"].to_numpy()
    gamma = qs.raters.sort_values("raterIdx").gamma.to_numpy()
    active = np.bincount(u) >= 20  # gamma is a per-rater regression: judge raters with data
    good, bad = gamma[active & (kind == "good")], gamma[active & (kind != "good")]
    assert len(bad) >= 50
    assert _auc(good, bad) >= 0.94
    assert gamma.mean() == pytest.approx(1.0)  # normalized


def test_qsmf_recovers_note_quality_better_than_baseline(bad_rater_fits):
    data, _, notes, _, base, qs = bad_rater_fits
    quality = data.truth_notes.set_index("noteId").loc[notes, "quality"].to_numpy()
    base_mse = _zscored_mse(base.notes.sort_values("noteIdx").intercept.to_numpy(), quality)
    qs_mse = _zscored_mse(qs.notes.sort_values("noteIdx").intercept.to_numpy(), quality)
    assert qs_mse < base_mse


def test_spark_engine_runs_qsmf_like_the_in_memory_engine(spark):
    from cnscore.mf.als import fit_mf
    from cnscore.schemas import MF_RATINGS

    raters, _, u, n, r = _arrays(generate(300, 60, 3000, seed=6, model=PlantedModel(bad_rater_fraction=0.2)))
    # A sweep cap reached before the tolerance: both engines run exactly 8 sweeps (the same
    # updates, so the same numbers) instead of converging on the distributed engine.
    cfg = MFConfig(model="qsmf", qs_rounds=2, tolerance=1e-14, max_sweeps=8, num_partitions=2)
    frame = pd.DataFrame({"raterIdx": u.astype("int32"), "noteIdx": n.astype("int32"), "helpfulNum": r})
    init = _init(len(raters))
    local = fit_mf_local(u, n, r, cfg, init)
    spark_fit = fit_mf(spark.createDataFrame(frame, schema=MF_RATINGS), cfg,
                       rater_init=spark.createDataFrame(init))
    assert spark_fit.objective == pytest.approx(local.objective, rel=1e-9)
    got = spark_fit.raters.toPandas().sort_values("raterIdx")
    np.testing.assert_allclose(got.gamma, local.raters.sort_values("raterIdx").gamma, atol=1e-7)
