"""The low-diligence reputation MF: optimizer, gradient, schedules, planted notes, Spark wiring."""

from __future__ import annotations

import numpy as np
import pytest

from cnscore.mf.adam import Adam
from cnscore.scoring import reputation_mf as rmf
from cnscore.scoring.diligence import NOTE_INTERCEPT, final_diligence, prescore_diligence

CFG = rmf.DiligenceConfig()


def test_adam_first_step_moves_each_coordinate_by_the_learning_rate():
    # Bias correction makes Adam's first step lr * sign(grad), whatever the gradient's scale.
    params = {"a": np.array([1.0, 2.0, 3.0]), "b": np.array([5.0])}
    Adam(params, ("a",), lr=0.2).step({"a": np.array([0.5, -40.0, 0.0]), "b": np.array([1.0])})
    np.testing.assert_allclose(params["a"], [0.8, 2.2, 3.0], atol=1e-6)
    assert params["b"][0] == 5.0  # not trainable


def test_adam_rejects_unknown_parameters():
    with pytest.raises(KeyError):
        Adam({"a": np.zeros(1)}, ("b",), lr=0.1)


def _random_problem(seed=0, notes=12, raters=9, ratings=70):
    rng = np.random.default_rng(seed)
    pairs = np.unique(np.stack([rng.integers(0, notes, ratings), rng.integers(0, raters, ratings)], 1), axis=0)
    data = rmf.RatingArrays(pairs[:, 0], pairs[:, 1], (rng.random(len(pairs)) < 0.3).astype(float), notes, raters)
    params = {rmf.NOTE_FACTOR: rng.normal(size=notes), rmf.NOTE_BIAS: rng.normal(size=notes),
              rmf.RATER_FACTOR: rng.normal(size=raters), rmf.RATER_BIAS: rng.normal(size=raters),
              rmf.REPUTATION: rng.random(raters) + 0.5, rmf.GLOBAL: np.array([0.3])}
    return data, params


@pytest.mark.parametrize("ratios", [(None, None), (4.0, 6.0)])
def test_gradient_matches_finite_differences(ratios):
    data, params = _random_problem()
    weights = rmf.rating_weights(data, 5.0, params[rmf.REPUTATION], 0.5, 0.1, note_norm_exp=-0.5)
    penalty = rmf.Penalty(0.03, 1.0, 10.0, 50.0, 0.5, *ratios)
    _, grads = rmf.loss_and_grads(params, data, weights, penalty)
    eps = 1e-6
    for name, values in params.items():
        for i in range(len(values)):
            values[i] += eps
            up, _ = rmf.loss_and_grads(params, data, weights, penalty)
            values[i] -= 2 * eps
            down, _ = rmf.loss_and_grads(params, data, weights, penalty)
            values[i] += eps
            assert grads[name][i] == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-9), (name, i)


@pytest.mark.parametrize("loss", [rmf.BCE, rmf.MSE])
def test_a_subset_of_gradients_without_the_loss_is_the_same_numbers(loss):
    # The fitting loops ask for their trainable arrays only and for the loss only at checks:
    # what they get must be bit for bit what the full call gives.
    data, params = _random_problem(seed=3)
    weights = rmf.rating_weights(data, 5.0, params[rmf.REPUTATION], 0.5, 0.1)
    penalty = rmf.Penalty(0.03, 1.0, 10.0, 50.0, 0.5)
    total, full = rmf.loss_and_grads(params, data, weights, penalty, loss)
    wanted = (rmf.NOTE_BIAS, rmf.RATER_BIAS, rmf.GLOBAL)
    skipped, some = rmf.loss_and_grads(params, data, weights, penalty, loss, wanted, with_loss=False)
    assert np.isfinite(total) and skipped is None
    assert sorted(some) == sorted(wanted)
    for name in wanted:
        np.testing.assert_array_equal(some[name], full[name])


def test_a_non_finite_prediction_stops_the_fit_even_without_the_loss():
    data, params = _random_problem()
    params[rmf.RATER_BIAS][0] = np.inf
    with pytest.raises(FloatingPointError):
        rmf.loss_and_grads(params, data, np.ones(len(data.target)), rmf.Penalty(0.03, 1, 1, 1, 0), with_loss=False)


def test_note_normalization_gives_each_note_total_weight_sqrt_of_its_weight():
    data = rmf.RatingArrays(np.array([0, 0, 0, 0, 1]), np.array([0, 1, 2, 3, 0]),
                            np.array([1.0, 0, 0, 0, 0]), 2, 4)
    weights = rmf.rating_weights(data, 3.0, note_norm_exp=-0.5)
    # note 0: raw weights 3,1,1,1 (total 6) -> each / sqrt(6); note 1: 1 / sqrt(1)
    np.testing.assert_allclose(weights, [3 / np.sqrt(6), 1 / np.sqrt(6), 1 / np.sqrt(6), 1 / np.sqrt(6), 1.0],
                               rtol=1e-6)


def test_a_round_moves_only_its_trainable_parameters_and_stops_early():
    data, params = _random_problem(1)
    frozen = {k: v.copy() for k, v in params.items()}
    loss, epochs = rmf.train_round(params, data, rmf.rating_weights(data, 2.0), rmf.Penalty(0.03, 1, 10, 50, 0),
                                   (rmf.NOTE_BIAS,), CFG)
    assert not np.allclose(params[rmf.NOTE_BIAS], frozen[rmf.NOTE_BIAS])
    for name in (rmf.NOTE_FACTOR, rmf.RATER_FACTOR, rmf.RATER_BIAS, rmf.REPUTATION, rmf.GLOBAL):
        np.testing.assert_array_equal(params[name], frozen[name])
    assert epochs < CFG.max_epochs  # a convex one-block problem settles before the cap
    assert np.isfinite(loss)


def _planted(seed=3, notes=60, raters=80, sloppy=(0, 1, 2, 3, 4, 5)):
    """Two camps rate every note; raters of both camps tag the `sloppy` notes as incorrect or
    badly sourced 70% of the time, the other notes 3% of the time."""
    rng = np.random.default_rng(seed)
    note, rater = np.meshgrid(np.arange(notes), np.arange(raters), indexing="ij")
    keep = rng.random(note.shape) < 0.5
    note, rater = note[keep], rater[keep]
    rate = np.where(np.isin(note, sloppy), 0.7, 0.03)
    target = (rng.random(len(note)) < rate).astype(float)
    camp_factor = np.where(np.arange(raters) % 2 == 0, 1.0, -1.0) * 0.8
    return rmf.RatingArrays(note, rater, target, notes, raters), camp_factor


def test_planted_sloppy_notes_get_the_highest_intercepts_in_prescoring_and_final():
    data, factors = _planted()
    fit = rmf.train_prescoring(data, factors, CFG, seed=5)
    assert set(np.argsort(-fit.params[rmf.NOTE_BIAS])[:6]) == {0, 1, 2, 3, 4, 5}
    init = rmf.FinalInit(fit.params[rmf.NOTE_FACTOR], fit.note_bias_round2, fit.params[rmf.RATER_FACTOR],
                         fit.params[rmf.RATER_BIAS], fit.rater_bias_round2, fit.params[rmf.REPUTATION])
    final, _ = rmf.train_final(data, init, fit.global_intercepts, CFG, note_ratio=len(data.target) / 60,
                               rater_ratio=len(data.target) / 80)
    intercepts = final[rmf.NOTE_BIAS]
    assert intercepts[:6].min() > 0.263 > np.quantile(intercepts[6:], 0.9)


def test_prescoring_is_deterministic_for_a_seed():
    data, factors = _planted()
    a = rmf.train_prescoring(data, factors, CFG, seed=11)
    b = rmf.train_prescoring(data, factors, CFG, seed=11)
    np.testing.assert_array_equal(a.params[rmf.NOTE_BIAS], b.params[rmf.NOTE_BIAS])
    assert a.global_intercepts == b.global_intercepts


def _spark_ratings(spark, data: rmf.RatingArrays, partitions: int):
    rows = [(int(n) + 100, f"r{int(u):03d}", int(n), int(u), int(t), 0, 0)
            for n, u, t in zip(data.note, data.rater, data.target)]
    schema = ("noteId bigint, raterParticipantId string, noteIdx int, raterIdx int, notHelpfulIncorrect int, "
              "notHelpfulIrrelevantSources int, notHelpfulSourcesMissingOrUnreliable int")
    return spark.createDataFrame(rows, schema).repartition(partitions)


def test_spark_wiring_is_independent_of_partitioning_and_flags_the_planted_notes(spark):
    data, factors = _planted(notes=30, raters=60)
    raters = spark.createDataFrame([(f"r{u:03d}", float(f)) for u, f in enumerate(factors)],
                                   "raterParticipantId string, internalRaterFactor1 double")
    results = []
    for partitions in (1, 4):
        ratings = _spark_ratings(spark, data, partitions)
        params = prescore_diligence(ratings, raters, CFG, seed=2)
        meta = {"finalRoundNumRatings": len(data.target), "finalRoundNumNotes": 30, "finalRoundNumUsers": 60}
        notes = final_diligence(ratings, params, meta, CFG).toPandas().sort_values("noteId")
        intercepts = notes[NOTE_INTERCEPT].to_numpy()
        results.append(intercepts)
        assert list(notes["noteId"]) == list(range(100, 130))
        assert intercepts[:6].min() > max(0.263, intercepts[6:].max())
    np.testing.assert_array_equal(results[0], results[1])


def test_disabled_model_returns_nothing(spark):
    data, factors = _planted(notes=10, raters=12)
    raters = spark.createDataFrame([("r000", 0.1)], "raterParticipantId string, internalRaterFactor1 double")
    cfg = rmf.DiligenceConfig(enabled=False)
    assert prescore_diligence(_spark_ratings(spark, data, 1), raters, cfg, seed=1) is None
