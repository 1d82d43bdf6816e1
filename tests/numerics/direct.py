"""An independent, full-batch statement of the reference objective (shared docs/reference.md
§3.2, mean form), with its gradient, for checking the ALS engine with scipy. Optional rating
weights give the normalized loss's objective (§3.9): mean(w * err^2) + the same penalties."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize


def unpack(theta, n_raters, n_notes, k):
    sizes = [1, n_raters, n_raters * k, n_notes, n_notes * k]
    mu, iu, fu, i_n, fn = np.split(theta, np.cumsum(sizes)[:-1])
    return mu[0], iu, fu.reshape(n_raters, k), i_n, fn.reshape(n_notes, k)


def loss_and_grad(theta, rater, note, label, n_raters, n_notes, k, lam, weight=None):
    """lam: dict with note_intercept, note_factor, rater_intercept, rater_factor, mu.
    weight: per-rating weights on the squared errors (None: 1)."""
    mu, iu, fu, i_n, fn = unpack(theta, n_raters, n_notes, k)
    n = len(label)
    w = np.ones(n) if weight is None else weight
    pred = mu + iu[rater] + i_n[note] + np.sum(fu[rater] * fn[note], axis=1)
    err = pred - label
    loss = np.mean(w * err**2)
    loss += lam["rater_factor"] * np.mean(fu**2) + lam["rater_intercept"] * np.mean(iu**2)
    loss += lam["note_factor"] * np.mean(fn**2) + lam["note_intercept"] * np.mean(i_n**2)
    loss += lam["mu"] * mu**2
    g = 2.0 * w * err / n
    g_mu = np.sum(g) + 2 * lam["mu"] * mu
    g_iu = np.bincount(rater, g, n_raters) + 2 * lam["rater_intercept"] * iu / n_raters
    g_in = np.bincount(note, g, n_notes) + 2 * lam["note_intercept"] * i_n / n_notes
    g_fu = np.zeros_like(fu)
    g_fn = np.zeros_like(fn)
    np.add.at(g_fu, rater, g[:, None] * fn[note])
    np.add.at(g_fn, note, g[:, None] * fu[rater])
    g_fu += 2 * lam["rater_factor"] * fu / (n_raters * k)
    g_fn += 2 * lam["note_factor"] * fn / (n_notes * k)
    grad = np.concatenate([[g_mu], g_iu, g_fu.ravel(), g_in, g_fn.ravel()])
    return loss, grad


def minimize_direct(rater, note, label, n_raters, n_notes, k, lam, seed=0, weight=None):
    """L-BFGS over all parameters from a random start; returns (loss, mu, iu, fu, in, fn)."""
    rng = np.random.default_rng(seed)
    size = 1 + n_raters * (1 + k) + n_notes * (1 + k)
    theta0 = rng.uniform(-0.1, 0.1, size)
    out = minimize(
        loss_and_grad,
        theta0,
        args=(rater, note, label, n_raters, n_notes, k, lam, weight),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 100000, "maxfun": 100000, "ftol": 1e-16, "gtol": 1e-12},
    )
    return (out.fun, *unpack(out.x, n_raters, n_notes, k))
