"""The ALS sweep loop, shared by the Spark engine (cnscore.mf.als) and the in-memory one
(cnscore.mf.local): both give it a "problem" with `cfg`, `weights`, `num_ratings`,
`total_weight` (the sum of rating weights; num_ratings when unweighted) and
`solve(key, fixed_params, mu) -> solved` (pandas: key, intercept, factor1..k, sse, res; with rating
weights, sse and res are weighted sums)."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cnscore.columns import ParamCols
from cnscore.mf.objective import apply_flips, flip_signs, intercept_shift, side_penalty

log = logging.getLogger("cnscore.mf")

NOTE, RATER = ParamCols.NOTE_IDX, ParamCols.RATER_IDX


@dataclass(frozen=True)
class SweepOutcome:
    notes: pd.DataFrame
    raters: pd.DataFrame
    mu: float
    sse: float
    history: tuple[float, ...]
    converged: bool


def _shift_intercepts(problem, notes, raters, mu: float) -> tuple[float, float]:
    """After a sweep: the exact best shift of mu (and, when every intercept family is
    penalized and there is no diamond term, of all note and rater intercepts together).

    Updates `notes` and `raters` in place; returns the new SSE and mu. The SSE moves by an exact
    quadratic in the total shift, so no extra pass over the ratings is needed.
    """
    # With rating weights every squared error is weighted, so a shift s moves the SSE by
    # -2 s sum(w e) + s^2 sum(w): the rating count becomes the total weight here (only here:
    # the penalties keep their N-based sum form, as the reference's mean over ratings does).
    n, w = problem.total_weight, problem.weights
    sse, residual = float(raters["sse"].sum()), float(raters["res"].sum())
    fit_mu = problem.cfg.fit_global_intercept
    # With QS-MF's gamma, a shift of all note intercepts is not uniform across ratings, so only
    # mu and the rater intercepts move then.
    move_notes = problem.gamma is None
    families = [(w.note[0], len(notes), float(notes["intercept"].sum()))] if move_notes else []
    families.append((w.rater[0], len(raters), float(raters["intercept"].sum())))
    if fit_mu:
        families.append((w.mu, 1, mu))
    found = None if w.note[2] > 0 else intercept_shift(families, residual, n)
    if found is None:  # mu alone, in closed form (or nothing to move)
        note_s, rater_s = 0.0, 0.0
        mu_s = (residual - w.mu * mu) / (n + w.mu) if fit_mu else 0.0
    else:
        shifts = iter(found)
        note_s = next(shifts) if move_notes else 0.0
        rater_s = next(shifts)
        mu_s = next(shifts) if fit_mu else 0.0
    notes["intercept"] += note_s
    raters["intercept"] += rater_s
    total = note_s + rater_s + mu_s
    sse += -2.0 * total * residual + n * total * total
    return sse, mu + mu_s


def sweep_objective(problem, notes, raters, sse: float, mu: float) -> float:
    k, w = problem.cfg.num_factors, problem.weights
    total = sse + side_penalty(notes, w.note, k) + side_penalty(raters, w.rater, k) + w.mu * mu * mu
    return (total + problem.gamma_penalty()) / problem.num_ratings


def run_sweeps(problem, raters: pd.DataFrame, mu: float) -> SweepOutcome:
    """Alternate note and rater half-steps from `raters` until the relative change of the loss
    is below cfg.tolerance or cfg.max_sweeps; then apply the sign rule if configured.

    With a diamond term (w_d |i f| on notes) the fit first converges without it, then goes on
    with it from there (`_without_diamond`). Started directly, exact ALS from small random
    rater factors stalls at f = 0: each note's best factor under the kink of |i f| is 0 while
    the raters' factors are small, and then every rater's best factor is 0 too. The reference's
    gradient descent moves all parameters at once from intercepts of 0, where the term is
    still flat, and finds the factors (group 14 at 1M ratings: train MSE 0.092 from the warm-up
    and 0.0918 in the reference, 0.160 with every factor 0 without it).
    """
    earlier: tuple[float, ...] = ()
    if problem.weights.note[2] > 0:
        warm = _without_diamond(problem, raters, mu)
        raters, mu, earlier = warm.raters, warm.mu, warm.history
    outcome = _sweep(problem, raters, mu)
    notes, raters = outcome.notes, outcome.raters
    if problem.cfg.flip_factors:
        k = problem.cfg.num_factors
        flips = flip_signs(raters, k)
        notes, raters = apply_flips(notes, flips, k), apply_flips(raters, flips, k)
    return SweepOutcome(notes, raters, outcome.mu, outcome.sse, earlier + outcome.history, outcome.converged)


def _without_diamond(problem, raters: pd.DataFrame, mu: float) -> SweepOutcome:
    """The fit with the diamond weight set to 0 (the problem's weights are restored after)."""
    full = problem.weights
    problem.weights = dataclasses.replace(full, note=(full.note[0], full.note[1], 0.0))
    try:
        log.info("diamond term: warm-up fit without it")
        return _sweep(problem, raters, mu)
    finally:
        problem.weights = full


def _sweep(problem, raters: pd.DataFrame, mu: float) -> SweepOutcome:
    cfg = problem.cfg
    history: list[float] = []
    converged, started = False, time.time()
    for sweep in range(1, cfg.max_sweeps + 1):
        notes = problem.solve(NOTE, raters, mu)
        raters = problem.solve(RATER, notes, mu)
        sse, mu = _shift_intercepts(problem, notes, raters, mu)
        history.append(sweep_objective(problem, notes, raters, sse, mu))
        change = abs(history[-2] - history[-1]) / max(abs(history[-1]), 1e-300) if sweep > 1 else np.inf
        log.info(
            "sweep %d: loss %.10g, relative change %.3g, mu %.6f, %.1fs",
            sweep, history[-1], change, mu, time.time() - started,
        )
        if change < cfg.tolerance:
            converged = True
            break
    if not converged:
        log.warning("ALS stopped at max_sweeps=%d before tolerance %g", cfg.max_sweeps, cfg.tolerance)
    return SweepOutcome(notes, raters, mu, sse, tuple(history), converged)
