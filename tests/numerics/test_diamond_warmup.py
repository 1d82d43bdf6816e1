"""The diamond term (group 14's w_d |i f| on notes) from a random start: the fit finds the
planted factors instead of stalling at f = 0 (cnscore.mf.loop.run_sweeps)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from cnscore.config import MFConfig
from cnscore.mf.init import xavier_bound
from cnscore.mf.local import fit_mf_local

# Group 14's lambdas (conf/models.yml), the ones that stalled at 1M ratings.
GROUP_14 = MFConfig(note_intercept_lambda=0.90, rater_intercept_lambda=0.15, global_intercept_lambda=0.15,
                    note_factor_lambda=0.01, rater_factor_lambda=0.0075, diamond_lambda=0.75, seed=4)


def _planted(num_raters=400, num_notes=150, per_rater=30, seed=0):
    """Two camps (rater factor -+1) and notes each camp likes (factor -+1) or both like."""
    rng = np.random.default_rng(seed)
    rater_f = np.where(rng.random(num_raters) < 0.5, -1.0, 1.0)
    note_f = rng.choice([-1.0, 0.0, 1.0], num_notes)
    note_i = np.where(note_f == 0, 0.3, 0.0)
    rater = np.repeat(np.arange(num_raters), per_rater)
    note = np.concatenate([rng.choice(num_notes, per_rater, replace=False) for _ in range(num_raters)])
    signal = 0.5 + note_i[note] + 0.4 * rater_f[rater] * note_f[note]
    label = np.clip(np.round(2 * (signal + rng.normal(0, 0.15, len(note)))) / 2, 0, 1)
    return rater, note, label, note_f


def _fit(rater, note, label, cfg):
    num_raters = int(rater.max()) + 1
    bound = xavier_bound(num_raters, 1)
    init = pd.DataFrame({"raterIdx": np.arange(num_raters), "intercept": 0.0,
                         "factor1": np.random.default_rng(1).uniform(-bound, bound, num_raters)})
    return fit_mf_local(rater, note, label, cfg, init)


def _mse(fit, rater, note, label):
    notes = fit.notes.set_index("noteIdx").loc[note]
    raters = fit.raters.set_index("raterIdx").loc[rater]
    pred = (fit.global_intercept + notes.intercept.to_numpy() + raters.intercept.to_numpy()
            + notes.factor1.to_numpy() * raters.factor1.to_numpy())
    return float(np.mean((label - pred) ** 2))


def test_diamond_fit_from_random_raters_finds_the_planted_factors():
    rater, note, label, note_f = _planted()
    fit = _fit(rater, note, label, GROUP_14)
    notes = fit.notes.sort_values("noteIdx")
    factor = notes.factor1.to_numpy()
    # Factors found: most one-sided notes carry one, with the planted sign (up to the flip).
    one_sided = note_f[notes.noteIdx] != 0
    assert np.mean(np.abs(factor[one_sided]) > 0.05) > 0.9
    agreement = np.corrcoef(factor[one_sided], note_f[notes.noteIdx][one_sided])[0, 1]
    assert abs(agreement) > 0.95
    # ... and the fit is nearly as good as without the diamond term, far better than intercepts alone.
    plain = _fit(rater, note, label, replace(GROUP_14, diamond_lambda=0.0))
    no_factors = np.mean((label - np.mean(label)) ** 2)
    mse, plain_mse = _mse(fit, rater, note, label), _mse(plain, rater, note, label)
    assert mse < plain_mse + 0.01 and mse < 0.5 * no_factors


def test_the_diamond_term_still_shrinks_the_factors_of_high_intercept_notes():
    rater, note, label, note_f = _planted()
    with_term = _fit(rater, note, label, GROUP_14).notes.set_index("noteIdx")
    plain = _fit(rater, note, label, replace(GROUP_14, diamond_lambda=0.0)).notes.set_index("noteIdx")
    bridging = np.flatnonzero(note_f == 0)  # intercept 0.3, no planted factor
    assert np.abs(with_term.factor1.loc[bridging]).mean() < np.abs(plain.factor1.loc[bridging]).mean()
