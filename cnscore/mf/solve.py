"""Batched per-entity solves for one ALS half-step, in numpy.

For every entity (a note, or a rater) with the other side fixed, the objective in sum form is

    q(theta) = sum_r (y_r - theta . x_r)^2 + w_i * theta_0^2 + w_f * |theta_1..k|^2
               + w_d * sum_k |theta_0 * theta_k|

with x_r = (1, f_other_1 .. f_other_k) and y_r = rating - mu - intercept_other. Only the
sufficient statistics G = sum x x^T, b = sum y x and yy = sum y^2 are needed, which Spark
aggregates natively; this module turns a batch of them into parameters in one vectorized call.
"""

from __future__ import annotations

import numpy as np

from cnscore.columns import factor_cols


def stat_names(num_factors: int) -> tuple[list[tuple[int, int, str]], list[str]]:
    """Column names of the upper-triangle Gram entries (i, j, name) and of b."""
    size = num_factors + 1
    gram = [(i, j, f"g{i}_{j}") for i in range(size) for j in range(i, size)]
    rhs = [f"b{i}" for i in range(size)]
    return gram, rhs


def unpack_stats(batch, num_factors: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gram (n, m, m), b (n, m) and yy (n,) from a pandas batch of aggregated statistics."""
    gram_names, rhs_names = stat_names(num_factors)
    n, size = len(batch), num_factors + 1
    gram = np.empty((n, size, size))
    for i, j, name in gram_names:
        gram[:, i, j] = gram[:, j, i] = batch[name].to_numpy(dtype=float)
    rhs = np.stack([batch[name].to_numpy(dtype=float) for name in rhs_names], axis=1)
    return gram, rhs, batch["yy"].to_numpy(dtype=float)


def penalized_objective(theta, gram, rhs, yy, w_intercept, w_factor, w_diamond):
    """q(theta) per entity, including the penalties (used to pick among candidates)."""
    quad = np.einsum("ni,nij,nj->n", theta, gram, theta)
    sse = yy - 2.0 * np.einsum("ni,ni->n", theta, rhs) + quad
    penalty = w_intercept * theta[:, 0] ** 2 + w_factor * np.sum(theta[:, 1:] ** 2, axis=1)
    penalty += w_diamond * np.sum(np.abs(theta[:, :1] * theta[:, 1:]), axis=1)
    return sse + penalty, sse


def _ridge(gram, rhs, w_intercept, w_factor):
    size = gram.shape[1]
    lam = np.full(size, w_factor, dtype=float)
    lam[0] = w_intercept
    return np.linalg.solve(gram + np.diag(lam)[None, :, :], rhs[:, :, None])[:, :, 0]


def _diamond_rank1(gram, rhs, yy, w_intercept, w_factor, w_diamond):
    """Exact minimizer with the non-smooth w_d*|i*f| term (k = 1).

    On each half-plane sign(i*f) = s the term is s*w_d*i*f, a bilinear term, so q is a quadratic
    there: its stationary point counts only if it lies in that region and the quadratic is
    positive definite. Otherwise the minimum lies on an axis (i = 0 or f = 0), which we add as
    candidates. The smallest q among valid candidates is the global minimum.
    """
    n = gram.shape[0]
    base = gram + np.array([[w_intercept, 0.0], [0.0, w_factor]])[None]
    candidates = [
        np.stack([rhs[:, 0] / base[:, 0, 0], np.zeros(n)], axis=1),  # f = 0
        np.stack([np.zeros(n), rhs[:, 1] / base[:, 1, 1]], axis=1),  # i = 0
    ]
    valid = [np.ones(n, bool), np.ones(n, bool)]
    for sign in (1.0, -1.0):
        mat = base.copy()
        mat[:, 0, 1] += sign * w_diamond / 2.0
        mat[:, 1, 0] += sign * w_diamond / 2.0
        det = mat[:, 0, 0] * mat[:, 1, 1] - mat[:, 0, 1] ** 2
        positive = (det > 0) & (mat[:, 0, 0] > 0)
        safe = np.where(positive, det, 1.0)
        i = (mat[:, 1, 1] * rhs[:, 0] - mat[:, 0, 1] * rhs[:, 1]) / safe
        f = (mat[:, 0, 0] * rhs[:, 1] - mat[:, 0, 1] * rhs[:, 0]) / safe
        candidates.append(np.stack([i, f], axis=1))
        valid.append(positive & (sign * i * f >= 0))
    best = candidates[0]
    best_q, _ = penalized_objective(best, gram, rhs, yy, w_intercept, w_factor, w_diamond)
    for cand, ok in zip(candidates[1:], valid[1:]):
        q, _ = penalized_objective(cand, gram, rhs, yy, w_intercept, w_factor, w_diamond)
        better = ok & (q < best_q)
        best = np.where(better[:, None], cand, best)
        best_q = np.where(better, q, best_q)
    return best


def solve_batch(batch, *, key: str, num_factors: int, weights: tuple[float, float, float]):
    """Solve every entity of a pandas batch of statistics.

    Args:
        batch: pandas DataFrame with `key`, the Gram columns, the b columns and `yy`.
        key: the entity key column name (kept in the output).
        num_factors: k.
        weights: (w_intercept, w_factor, w_diamond), already in sum form.

    Returns:
        pandas DataFrame: key, intercept, factor1..k, sse (the entity's squared error at the
        solution) and res (its sum of residuals, used for the global-intercept update).
    """
    import pandas as pd

    w_intercept, w_factor, w_diamond = weights
    gram, rhs, yy = unpack_stats(batch, num_factors)
    if w_diamond > 0:
        theta = _diamond_rank1(gram, rhs, yy, w_intercept, w_factor, w_diamond)
    else:
        theta = _ridge(gram, rhs, w_intercept, w_factor)
    _, sse = penalized_objective(theta, gram, rhs, yy, 0.0, 0.0, 0.0)
    res = rhs[:, 0] - np.einsum("nj,nj->n", gram[:, 0, :], theta)
    out = {key: batch[key].to_numpy(), "intercept": theta[:, 0]}
    for idx, name in enumerate(factor_cols("factor", num_factors), start=1):
        out[name] = theta[:, idx]
    out["sse"] = np.maximum(sse, 0.0)  # guard tiny negative round-off
    out["res"] = res
    return pd.DataFrame(out)
