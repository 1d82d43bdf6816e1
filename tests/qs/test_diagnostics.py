"""Rater diagnostics: the slope statistic, its split-half reliability and the dispersion test,
on toy data with known slopes and on planted data with bad raters (baseline fits, in memory)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from cnscore.config import MFConfig
from cnscore.qs import diagnostics as d
from cnscore.qs.common import Fit, Ratings, auc, fit_model, planted


@pytest.fixture(autouse=True)
def _quiet_engine():
    logging.getLogger("cnscore.mf").setLevel(logging.WARNING)  # no per-sweep INFO lines


def _toy(slopes: np.ndarray, per_rater: int, noise: float, seed: int = 0):
    """Every rater rates every one of `per_rater` notes; z = slope_u * i_n (+ noise)."""
    rng = np.random.default_rng(seed)
    num_raters = len(slopes)
    i_n = rng.normal(0, 0.3, per_rater)
    u = np.repeat(np.arange(num_raters), per_rater)
    n = np.tile(np.arange(per_rater), num_raters)
    label = 0.5 + slopes[u] * i_n[n] + rng.normal(0, noise, len(u))
    ratings = Ratings(u, n, label, np.zeros(len(u), np.int64))
    fit = Fit(note_intercept=i_n, note_factor=np.zeros(per_rater),
              rater_intercept=np.zeros(num_raters), rater_factor=np.zeros(num_raters),
              gamma=np.ones(num_raters), mu=0.5, converged=True)
    return ratings, fit


def test_slope_recovers_known_slopes_exactly_without_noise():
    slopes = np.array([1.0, 0.0, 0.5, -0.3])
    ratings, fit = _toy(slopes, per_rater=12, noise=0.0)
    for through_origin in (False, True):
        got = d.rater_slopes(ratings, fit, through_origin=through_origin)
        np.testing.assert_allclose(got["slope"], slopes, atol=1e-12)
    assert (got["numRatings"] == 12).all()


def test_halves_split_every_rater_evenly_and_depend_on_the_seed():
    rater = np.repeat(np.arange(5), [1, 2, 7, 10, 31])
    first = d._halves(rater, seed=3)
    sizes = np.bincount(rater[first], minlength=5)
    np.testing.assert_array_equal(sizes, [1, 1, 4, 5, 16])
    assert not np.array_equal(first, d._halves(rater, seed=4))
    np.testing.assert_array_equal(first, d._halves(rater, seed=3))


def test_permutation_keeps_each_raters_values():
    rng = np.random.default_rng(0)
    rater = rng.integers(0, 6, 200)
    values = rng.normal(size=200)
    shuffled = d._permute_within(rater, values, rng)
    for u in range(6):
        np.testing.assert_allclose(np.sort(shuffled[rater == u]), np.sort(values[rater == u]))
    assert not np.allclose(shuffled, values)


@pytest.fixture(scope="module")
def planted_fits():
    """Baseline fits on planted data with and without 20% bad raters."""
    out = {}
    for fraction in (0.0, 0.2):
        data = planted(1500, 300, 36_000, seed=5, bad_fraction=fraction)
        out[fraction] = (data, fit_model(data.ratings, MFConfig(), seed=5))
    return out


def test_bad_raters_have_slopes_near_zero_and_good_raters_near_one(planted_fits):
    data, base = planted_fits[0.2]
    slopes = d.rater_slopes(data.ratings, base)
    active = (slopes["numRatings"] >= 20).to_numpy() & slopes["slope"].notna().to_numpy()
    good, bad = active & (data.kind == "good"), active & (data.kind != "good")
    assert bad.sum() >= 30
    median_good = np.median(slopes["slope"][good])
    median_bad = np.median(slopes["slope"][bad])
    assert abs(median_bad) < 0.3
    assert 0.7 < median_good < 2.0  # bad raters shrink the baseline's i_n, so good slopes run > 1
    assert auc(slopes["slope"][good], slopes["slope"][bad]) > 0.95


def test_split_half_reliability_grows_with_activity(planted_fits):
    data, base = planted_fits[0.2]
    table = d.split_half_reliability(data.ratings, base, seed=1)
    assert list(table["activityBin"]) == ["20-50", "50-100", "100-200", "200-500", "500+"]
    lowest = table.iloc[0]
    assert lowest["numRaters"] >= 50 and np.isfinite(lowest["reliability"])
    higher = table.iloc[1:][table.iloc[1:]["numRaters"] >= 15]
    assert len(higher) >= 1
    assert (higher["reliability"] > lowest["reliability"]).all()


def test_dispersion_test_flags_bad_raters_and_not_a_clean_population(planted_fits):
    (bad_data, bad_fit), (clean_data, clean_fit) = planted_fits[0.2], planted_fits[0.0]
    with_bad = d.slope_dispersion_test(bad_data.ratings, bad_fit, num_permutations=60, seed=2)
    clean = d.slope_dispersion_test(clean_data.ratings, clean_fit, num_permutations=60, seed=2)
    assert with_bad["pValue"].iloc[0] <= 0.05
    assert with_bad["excessVariance"].iloc[0] > 0
    assert clean["pValue"].iloc[0] > 0.2
    assert set(with_bad.columns) == {
        "numRaters", "observedVariance", "nullMeanVariance", "nullSdVariance", "excessVariance",
        "pValue", "numPermutations",
    }


def test_diagnose_returns_the_three_tables(planted_fits):
    data, base = planted_fits[0.2]
    out = d.diagnose(data.ratings, base, num_permutations=5)
    assert set(out) == {"slopes", "reliability", "dispersion"}
    assert len(out["slopes"]) == data.ratings.num_raters
