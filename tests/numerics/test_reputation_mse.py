"""The ReputationScorer's reputation MF (squared error on helpfulNum, §5.8), in numpy only:
gradient, weights, and planted notes and raters recovered through prescoring and final scoring."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.stats import spearmanr

from cnscore.scoring import reputation_mf as rmf

CFG = rmf.HelpfulnessReputationConfig()
CRH_THRESHOLD = 0.28  # conf/models.yml's ReputationScorer crh_threshold
NOTES, RATERS = 40, 60


def _planted(seed=0, noisy_raters=0):
    """Two camps of raters (factor +1 / -1) rate 60% of the notes; each note has a planted
    intercept (-0.4 .. 0.5) and factor (-0.5, 0, 0.5); helpfulNum = 0.3 + intercept +
    note factor x rater factor + N(0, 0.1). The last `noisy_raters` raters answer 0 / 0.5 / 1
    at random."""
    rng = np.random.default_rng(seed)
    intercept = rng.permutation(np.linspace(-0.4, 0.5, NOTES))
    note_factor = rng.choice([-0.5, 0.0, 0.5], NOTES)
    rater_factor = np.where(np.arange(RATERS) % 2 == 0, 1.0, -1.0)
    note, rater = np.meshgrid(np.arange(NOTES), np.arange(RATERS), indexing="ij")
    keep = rng.random(note.shape) < 0.6
    note, rater = note[keep], rater[keep]
    target = 0.3 + intercept[note] + note_factor[note] * rater_factor[rater] + rng.normal(0, 0.1, len(note))
    noisy = rater >= RATERS - noisy_raters
    target[noisy] = rng.choice([0.0, 0.5, 1.0], noisy.sum())
    return rmf.RatingArrays(note, rater, target, NOTES, RATERS), intercept, note_factor, rater_factor


def _final(data, fit):
    init = rmf.FinalInit(fit.params[rmf.NOTE_FACTOR], fit.note_bias_round2, fit.params[rmf.RATER_FACTOR],
                         fit.params[rmf.RATER_BIAS], fit.rater_bias_round2, fit.params[rmf.REPUTATION])
    params, _ = rmf.train_final(data, init, fit.global_intercepts, CFG, note_ratio=None, rater_ratio=None)
    return params


def test_the_config_is_the_reference_helpfulness_model():
    assert (CFG.loss, CFG.l2, CFG.note_intercept_l2_multiplier, CFG.rater_intercept_l2_multiplier,
            CFG.reputation_l2_multiplier, CFG.global_l2_multiplier) == (rmf.MSE, 0.01, 0.5, 1.0, 1.0, 0.0)
    assert (CFG.third_round_l2_multiplier, CFG.third_round_note_intercept_l2_multiplier) == (0.1, 10.0)
    assert (CFG.pos_weight, CFG.second_round_pos_weight_multiplier, CFG.third_round_pos_weight_multiplier) == (0.2, 5, 5)
    assert (CFG.first_round_rater_norm_exp, CFG.third_round_note_norm_exp) == (-0.5, -0.5)
    assert (CFG.reputation_exp, CFG.reputation_smoothing) == (1.0, 0.0)
    assert (CFG.max_epochs, CFG.learning_rate, CFG.convergence, CFG.stable_period) == (300, 0.2, 1e-7, 10)
    with pytest.raises(ValueError, match="loss"):
        dataclasses.replace(CFG, loss="hinge")


def test_squared_error_gradient_matches_finite_differences():
    data, *_ = _planted(seed=4)
    rng = np.random.default_rng(2)
    params = {rmf.NOTE_FACTOR: rng.normal(size=NOTES), rmf.NOTE_BIAS: rng.normal(size=NOTES),
              rmf.RATER_FACTOR: rng.normal(size=RATERS), rmf.RATER_BIAS: rng.normal(size=RATERS),
              rmf.REPUTATION: rng.random(RATERS) + 0.5, rmf.GLOBAL: np.array([0.3])}
    weights = rmf.rating_weights(data, 0.2, params[rmf.REPUTATION], note_norm_exp=-0.5, rater_norm_exp=-0.5)
    penalty = rmf.Penalty(0.01, 0.5, 1.0, 1.0, 0.0)
    _, grads = rmf.loss_and_grads(params, data, weights, penalty, rmf.MSE)
    eps = 1e-6
    for name, values in params.items():
        for i in range(0, len(values), 7):  # every 7th entry keeps the test fast
            values[i] += eps
            up, _ = rmf.loss_and_grads(params, data, weights, penalty, rmf.MSE)
            values[i] -= 2 * eps
            down, _ = rmf.loss_and_grads(params, data, weights, penalty, rmf.MSE)
            values[i] += eps
            assert grads[name][i] == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-9), (name, i)


def test_rater_normalization_follows_class_weights_and_uses_each_raters_total():
    data = rmf.RatingArrays(np.array([0, 1, 2, 0]), np.array([0, 0, 0, 1]), np.array([1.0, 0.5, 0.0, 1.0]), 3, 2)
    weights = rmf.rating_weights(data, 0.2, rater_norm_exp=-0.5)
    # rater 0: class weights 0.2, 1, 1 (total 2.2) -> each / sqrt(2.2); rater 1: 0.2 / sqrt(0.2).
    # Only a target of exactly 1 takes the positive weight: 0.5 (somewhat helpful) weighs 1.
    # (rtol: each total carries the reference's 2^-20 floor.)
    np.testing.assert_allclose(weights, [0.2 / np.sqrt(2.2), 1 / np.sqrt(2.2), 1 / np.sqrt(2.2), np.sqrt(0.2)],
                               rtol=1e-5)


def test_planted_intercepts_come_back_in_order_through_prescoring_and_final_scoring():
    data, intercept, note_factor, rater_factor = _planted()
    fit = rmf.train_prescoring(data, None, CFG, seed=3)
    assert max(fit.epochs) < CFG.max_epochs  # each round stops on the 1e-7 tolerance
    final = _final(data, fit)
    for fitted in (fit.params[rmf.NOTE_BIAS], final[rmf.NOTE_BIAS]):
        assert spearmanr(fitted, intercept).statistic >= 0.98
        # Shrunk by the L2 terms, and only defined up to the reputation's scale: within 0.15.
        np.testing.assert_allclose(fitted, intercept, atol=0.15)
    # The status rule on the final intercept: clear CRH and clear NMR notes land right.
    crh = final[rmf.NOTE_BIAS] > CRH_THRESHOLD
    assert crh[intercept >= 0.45].all() and not crh[intercept <= 0.15].any()
    # Factors: the two camps, and the polarizing notes, come apart (up to the MF's sign).
    assert abs(np.corrcoef(final[rmf.NOTE_FACTOR], note_factor)[0, 1]) >= 0.95
    assert abs(np.corrcoef(fit.params[rmf.RATER_FACTOR], rater_factor)[0, 1]) >= 0.95


def test_given_initial_factors_are_used_and_unknown_ones_start_at_zero(monkeypatch):
    data, _, note_factor, rater_factor = _planted()
    starts = []

    def record_start(params, *args):
        starts.append({k: v.copy() for k, v in params.items()})
        return 0.0, 0

    monkeypatch.setattr(rmf, "train_round", record_start)
    rater_init = np.where(np.arange(RATERS) < 5, np.nan, rater_factor)
    rmf.train_prescoring(data, rater_init, CFG, seed=3, note_factor_init=note_factor)
    rmf.train_prescoring(data, None, CFG, seed=3)
    given, drawn = starts[0], starts[3]  # round 1 of each fit
    np.testing.assert_array_equal(given[rmf.RATER_FACTOR], np.nan_to_num(rater_init))
    np.testing.assert_array_equal(given[rmf.NOTE_FACTOR], note_factor)
    np.testing.assert_array_equal(given[rmf.REPUTATION], np.ones(RATERS))
    assert given[rmf.GLOBAL][0] == 0.0
    # Without initial factors: N(0, 1) draws; the intercepts' draws do not depend on it.
    assert np.std(drawn[rmf.NOTE_FACTOR]) > 0.5 and np.std(drawn[rmf.RATER_FACTOR]) > 0.5
    np.testing.assert_array_equal(given[rmf.NOTE_BIAS], drawn[rmf.NOTE_BIAS])


def test_raters_answering_at_random_lose_their_reputation():
    data, intercept, *_ = _planted(noisy_raters=10)
    fit = rmf.train_prescoring(data, None, CFG, seed=3)
    reputation = fit.params[rmf.REPUTATION]
    assert reputation[-10:].max() < reputation[:-10].min()
    # Their ratings then weigh little: the final intercepts still follow the planted ones.
    assert spearmanr(_final(data, fit)[rmf.NOTE_BIAS], intercept).statistic >= 0.97


def test_a_seed_gives_the_same_fit():
    data, *_ = _planted()
    a = rmf.train_prescoring(data, None, CFG, seed=8)
    b = rmf.train_prescoring(data, None, CFG, seed=8)
    np.testing.assert_array_equal(a.params[rmf.NOTE_BIAS], b.params[rmf.NOTE_BIAS])
    assert a.global_intercepts == b.global_intercepts
