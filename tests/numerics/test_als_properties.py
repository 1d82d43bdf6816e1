"""Determinism, partition independence, warm starts and the frozen mode's ratio."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cnscore.config import MFConfig
from cnscore.ids import densify_ratings
from cnscore.mf.als import fit_mf, fit_notes_frozen
from cnscore.mf.init import random_params
from cnscore.preprocess import with_helpful_num
from cnscore.synthetic import generate, to_spark


@pytest.fixture(scope="module")
def dense(spark):
    data = generate(num_raters=600, num_notes=150, num_ratings=9000, seed=5)
    ratings = with_helpful_num(to_spark(spark, data)["ratings"])
    return densify_ratings(ratings).ratings.persist()


def _arrays(result):
    notes = result.notes.toPandas().sort_values("noteIdx")
    raters = result.raters.toPandas().sort_values("raterIdx")
    return np.concatenate([notes[["intercept", "factor1"]].to_numpy().ravel(),
                           raters[["intercept", "factor1"]].to_numpy().ravel()])


@pytest.fixture(scope="module")
def fits(dense):
    cfg = MFConfig(seed=3, tolerance=1e-9)
    return {p: fit_mf(dense.repartition(p), replace(cfg, num_partitions=p)) for p in (1, 5)}


def test_results_do_not_depend_on_partitioning(fits):
    one, five = fits[1], fits[5]
    assert one.sweeps == five.sweeps
    assert one.objective == pytest.approx(five.objective, rel=1e-12)
    np.testing.assert_allclose(_arrays(one), _arrays(five), rtol=0, atol=1e-10)


def test_initial_factors_depend_only_on_seed_and_id(spark):
    ids = spark.range(500).selectExpr("cast(id as int) as raterIdx")
    a = random_params(ids.repartition(1), key="raterIdx", side="rater", num_factors=2, seed=9, bound=0.1)
    b = random_params(ids.repartition(7), key="raterIdx", side="rater", num_factors=2, seed=9, bound=0.1)
    c = random_params(ids, key="raterIdx", side="rater", num_factors=2, seed=10, bound=0.1)
    pa, pb, pc = (x.toPandas().sort_values("raterIdx").reset_index(drop=True) for x in (a, b, c))
    assert pa.equals(pb)
    assert not np.allclose(pa.factor1, pc.factor1)
    assert pa.factor1.abs().max() <= 0.1 and pa.factor1.std() > 0.03


def test_objective_never_increases(fits):
    history = np.array(fits[1].history)
    assert np.all(np.diff(history) <= 1e-12 * history[:-1])


def test_warm_start_from_a_fit_converges_at_once(dense, fits):
    fit = fits[1]
    warm = fit_mf(dense, MFConfig(seed=3, tolerance=1e-9), rater_init=fit.raters,
                  note_init=fit.notes, global_intercept_init=fit.global_intercept)
    assert warm.sweeps <= 3
    assert warm.objective == pytest.approx(fit.objective, rel=1e-8)


def test_frozen_mode_uses_the_per_note_loss_ratio(dense, fits):
    fit = fits[1]
    strong = fit_notes_frozen(dense, fit.raters, fit.global_intercept,
                              MFConfig(rating_per_note_loss_ratio=1000.0))
    weak = fit_notes_frozen(dense, fit.raters, fit.global_intercept,
                            MFConfig(rating_per_note_loss_ratio=0.001))
    s = strong.notes.toPandas()
    w = weak.notes.toPandas()
    # rho * lambda = 150 on the intercept shrinks every note hard towards 0
    assert s.intercept.abs().mean() < 0.5 * w.intercept.abs().mean()


def test_in_memory_engine_matches_spark_engine(dense, fits):
    from cnscore.mf.local import fit_mf_local
    from cnscore.mf.init import random_params, xavier_bound

    cfg = MFConfig(seed=3, tolerance=1e-9)
    frame = dense.toPandas()
    raters = frame[["raterIdx"]].drop_duplicates()
    init = random_params(dense.sparkSession.createDataFrame(raters), key="raterIdx", side="rater",
                         num_factors=1, seed=3, bound=xavier_bound(len(raters), 1)).toPandas()
    local = fit_mf_local(frame.raterIdx.to_numpy(), frame.noteIdx.to_numpy(), frame.helpfulNum.to_numpy(),
                         cfg, init.sort_values("raterIdx", ignore_index=True))
    spark_fit = fits[1]
    assert local.sweeps == spark_fit.sweeps
    assert local.objective == pytest.approx(spark_fit.objective, rel=1e-12)
    notes = spark_fit.notes.toPandas().sort_values("noteIdx")
    np.testing.assert_allclose(local.notes.sort_values("noteIdx").intercept, notes.intercept, atol=1e-10)
