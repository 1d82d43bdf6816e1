"""The reference's MF objective in sum form (shared docs/reference.md §3.2), and its pieces.

    J = SSE + sum_n (w_in i_n^2 + w_fn |f_n|^2 + w_d sum_k |i_n f_nk|)
            + sum_u (w_iu i_u^2 + w_fu |f_u|^2) + w_mu mu^2

The reference reports the mean form L = J / N; so do we.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cnscore.columns import factor_cols
from cnscore.config import MFConfig


@dataclass(frozen=True)
class PenaltyWeights:
    """Sum-form penalty weights: per note (intercept, factor, diamond), per rater, and mu."""

    note: tuple[float, float, float]
    rater: tuple[float, float, float]
    mu: float


def penalty_weights(
    cfg: MFConfig, num_ratings: int, num_notes: int, num_raters: int
) -> PenaltyWeights:
    """Convert the mean-form lambdas to sum form.

    Without a loss ratio the reference averages each penalty over its embedding entries, so a
    note intercept weighs lambda * N / #notes and a factor entry lambda * N / (#notes * k) (the
    mean runs over all k entries). With a ratio rho it divides the sum by N / rho, i.e. every
    entry weighs lambda * rho. Raters likewise; mu weighs lambda_mu * N.
    """
    k = cfg.num_factors

    def side(ratio, count, lam_i, lam_f, lam_d):
        if ratio is not None:
            return lam_i * ratio, lam_f * ratio, lam_d * ratio
        per = num_ratings / count
        return lam_i * per, lam_f * per / k, lam_d * per / k

    note = side(
        cfg.rating_per_note_loss_ratio,
        num_notes,
        cfg.note_intercept_lambda,
        cfg.note_factor_lambda,
        cfg.diamond_lambda,
    )
    rater = side(
        cfg.rating_per_rater_loss_ratio,
        num_raters,
        cfg.rater_intercept_lambda,
        cfg.rater_factor_lambda,
        0.0,
    )
    mu = cfg.global_intercept_lambda * num_ratings if cfg.fit_global_intercept else 0.0
    return PenaltyWeights(note, rater, mu)


def side_penalty(params: pd.DataFrame, weights: tuple[float, float, float], k: int) -> float:
    """Penalty of one side's parameter table (intercept, factor1..k) in sum form."""
    intercept = params["intercept"].to_numpy()
    factors = params[factor_cols("factor", k)].to_numpy()
    return float(
        weights[0] * np.sum(intercept**2)
        + weights[1] * np.sum(factors**2)
        + weights[2] * np.sum(np.abs(intercept[:, None] * factors))
    )


def flip_signs(raters: pd.DataFrame, k: int) -> list[bool]:
    """The reference's identification rule, per factor: flip when fewer than half of the
    non-zero rater factors are negative (so most raters end up negative)."""
    flips = []
    for name in factor_cols("factor", k):
        values = raters[name].to_numpy()
        nonzero = np.count_nonzero(values)
        flips.append(bool(nonzero) and np.sum(values < 0) / nonzero < 0.5)
    return flips


def apply_flips(params: pd.DataFrame, flips: list[bool], k: int) -> pd.DataFrame:
    """Negate the flagged factor columns."""
    out = params.copy()
    for name, flip in zip(factor_cols("factor", k), flips):
        if flip:
            out[name] = -out[name]
    return out


def intercept_shift(
    components: list[tuple[float, int, float]], residual_sum: float, num_ratings: int
) -> list[float] | None:
    """Exact minimization along the intercept "gauge": shift every note intercept by a, every
    rater intercept by b and mu by c at once.

    A constant moves freely between mu and the two intercept families, held back only by
    their penalties, so ALS alone crawls along this direction (dozens of extra sweeps). The
    objective restricted to (a, b, c) is a small quadratic with a closed-form minimum, computed
    from sums the driver already has. `components` lists the free families as
    (sum-form weight, entity count, current sum of values), e.g. mu is (w_mu, 1, mu).

    Returns the shifts, or None when a weight is 0 (the direction is then unpenalized).
    """
    if not components or any(weight <= 0 for weight, _, _ in components):
        return None
    # Stationarity: weight_j * (S_j + m_j d_j) = lam for every j, lam = sum(e) - N s, s = sum d_j.
    a_coef = sum(1.0 / (w * m) for w, m, _ in components)
    mean_sum = sum(s / m for _, m, s in components)
    total = (a_coef * residual_sum - mean_sum) / (1.0 + a_coef * num_ratings)
    lam = residual_sum - num_ratings * total
    return [(lam / w - s) / m for w, m, s in components]
