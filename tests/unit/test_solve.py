"""Per-entity solve kernels against closed forms and brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from cnscore.mf.objective import intercept_shift
from cnscore.mf.solve import penalized_objective, solve_batch, stat_names


def _stats(rng, n_entities, k, n_obs=15):
    """Random per-entity observations -> (stats frame, raw x, raw y)."""
    xs = [np.column_stack([np.ones(n_obs), rng.normal(0, 1, (n_obs, k))]) for _ in range(n_entities)]
    ys = [rng.normal(0.3, 0.5, n_obs) for _ in range(n_entities)]
    gram_names, rhs_names = stat_names(k)
    rows = []
    for key, (x, y) in enumerate(zip(xs, ys)):
        g, b = x.T @ x, x.T @ y
        row = {"key": key, "yy": float(y @ y)}
        row.update({name: g[i, j] for i, j, name in gram_names})
        row.update({name: b[i] for i, name in enumerate(rhs_names)})
        rows.append(row)
    return pd.DataFrame(rows), xs, ys


@pytest.mark.parametrize("k", [1, 3])
def test_ridge_solve_matches_normal_equations(k):
    rng = np.random.default_rng(0)
    frame, xs, ys = _stats(rng, 6, k)
    out = solve_batch(frame, key="key", num_factors=k, weights=(2.0, 0.5, 0.0))
    for e, (x, y) in enumerate(zip(xs, ys)):
        lam = np.diag([2.0] + [0.5] * k)
        expected = np.linalg.solve(x.T @ x + lam, x.T @ y)  # (X'X + L) theta = X'y
        got = out.loc[e, ["intercept", *[f"factor{i}" for i in range(1, k + 1)]]].to_numpy(float)
        np.testing.assert_allclose(got, expected, rtol=1e-10)
        resid = y - x @ expected
        assert out.loc[e, "sse"] == pytest.approx(resid @ resid, rel=1e-9)
        assert out.loc[e, "res"] == pytest.approx(resid.sum(), abs=1e-9)


@pytest.mark.parametrize("w_diamond", [0.5, 3.0, 20.0])
def test_diamond_solve_is_the_global_minimum(w_diamond):
    rng = np.random.default_rng(1)
    frame, xs, ys = _stats(rng, 8, 1)
    out = solve_batch(frame, key="key", num_factors=1, weights=(1.0, 0.3, w_diamond))
    for e, (x, y) in enumerate(zip(xs, ys)):

        def q(t):
            r = y - x @ t
            return r @ r + 1.0 * t[0] ** 2 + 0.3 * t[1] ** 2 + w_diamond * abs(t[0] * t[1])

        starts = [np.array(s) for s in [(1, 1), (1, -1), (-1, 1), (-1, -1), (0.01, 0.0)]]
        best = min((minimize(q, s, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12,
                                                                   "maxiter": 20000}) for s in starts),
                   key=lambda r: r.fun)
        got = out.loc[e, ["intercept", "factor1"]].to_numpy(float)
        assert q(got) <= best.fun + 1e-9


def test_penalized_objective_of_solution_is_stationary_for_ridge():
    rng = np.random.default_rng(2)
    frame, xs, ys = _stats(rng, 3, 1)
    out = solve_batch(frame, key="key", num_factors=1, weights=(1.0, 1.0, 0.0))
    theta = out[["intercept", "factor1"]].to_numpy(float)
    gram = np.stack([x.T @ x for x in xs])
    rhs = np.stack([x.T @ y for x, y in zip(xs, ys)])
    yy = np.array([y @ y for y in ys])
    base, _ = penalized_objective(theta, gram, rhs, yy, 1.0, 1.0, 0.0)
    for step in (np.array([1e-4, 0]), np.array([0, 1e-4])):
        moved, _ = penalized_objective(theta + step, gram, rhs, yy, 1.0, 1.0, 0.0)
        assert np.all(moved > base)


def test_intercept_shift_minimizes_the_gauge_quadratic():
    rng = np.random.default_rng(3)
    e = rng.normal(0, 0.3, 200)  # residuals
    note_i, rater_i, mu = rng.normal(0, 0.2, 20), rng.normal(0, 0.2, 30), 0.1
    w = (3.0, 5.0, 40.0)

    def total(shift):
        a, b, c = shift
        s = a + b + c
        return (np.sum((e - s) ** 2) + w[0] * np.sum((note_i + a) ** 2)
                + w[1] * np.sum((rater_i + b) ** 2) + w[2] * (mu + c) ** 2)

    comps = [(w[0], 20, note_i.sum()), (w[1], 30, rater_i.sum()), (w[2], 1, mu)]
    shifts = intercept_shift(comps, e.sum(), len(e))
    direct = minimize(total, np.zeros(3), method="BFGS", options={"gtol": 1e-12})
    np.testing.assert_allclose(shifts, direct.x, atol=1e-6)
    assert intercept_shift([(0.0, 1, 0.0)], 1.0, 10) is None
