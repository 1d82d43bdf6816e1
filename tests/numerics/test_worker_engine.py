"""The in-worker engine (one pandas-UDF call per fit) gives the distributed engine's fit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cnscore.config import ConfigError, MFConfig
from cnscore.ids import densify_ratings
from cnscore.mf.als import fit_mf, fit_notes_frozen
from cnscore.mf.worker import settle_engine, use_worker
from cnscore.preprocess import with_helpful_num
from cnscore.synthetic import generate, to_spark

# A sweep cap reached before the tolerance: both engines run exactly max_sweeps sweeps, so the
# comparison never hinges on a stopping decision at round-off level.
BASE = MFConfig(seed=4, tolerance=1e-12, max_sweeps=12)


@pytest.fixture(scope="module")
def dense(spark):
    data = generate(num_raters=500, num_notes=120, num_ratings=7000, seed=8)
    ratings = with_helpful_num(to_spark(spark, data)["ratings"])
    return densify_ratings(ratings).ratings.persist()


def _table(df, key, cols):
    return df.toPandas().sort_values(key)[[key, *cols]].reset_index(drop=True)


def _assert_same_fit(a, b, *, gamma=False):
    assert a.sweeps == b.sweeps
    assert (a.num_ratings, a.num_notes, a.num_raters) == (b.num_ratings, b.num_notes, b.num_raters)
    assert a.global_intercept == pytest.approx(b.global_intercept, abs=1e-9)
    assert a.objective == pytest.approx(b.objective, rel=1e-9)
    np.testing.assert_allclose(a.history, b.history, rtol=1e-9)
    cols = ["intercept", "factor1"]
    pairs = [(a.notes, b.notes, "noteIdx", cols), (a.raters, b.raters, "raterIdx", cols + ["gamma"] * gamma)]
    for left, right, key, names in pairs:
        x, y = _table(left, key, names), _table(right, key, names)
        np.testing.assert_array_equal(x[key], y[key])
        np.testing.assert_allclose(x[names].to_numpy(), y[names].to_numpy(), rtol=0, atol=1e-8)


@pytest.mark.parametrize("model", ["standard", "qsmf"])
def test_worker_fit_equals_distributed_fit(dense, model):
    cfg = replace(BASE, model=model, qs_rounds=2)
    distributed = fit_mf(dense, cfg)
    in_worker = fit_mf(dense, replace(cfg, engine="worker"))
    if model == "standard":  # a real fit from the random start: the loss went down
        assert distributed.history[0] > distributed.history[-1] * 1.01
    _assert_same_fit(distributed, in_worker, gamma=model == "qsmf")


def test_warm_starts_match(dense):
    first = fit_mf(dense, BASE)
    for inits in ({"note_init": first.notes}, {"rater_init": first.raters, "global_intercept_init": 0.1}):
        distributed = fit_mf(dense, BASE, **inits)
        in_worker = fit_mf(dense, replace(BASE, engine="worker"), **inits)
        _assert_same_fit(distributed, in_worker)


@pytest.mark.parametrize("ratio", [None, 3.0])
def test_frozen_refit_in_memory_equals_distributed(dense, ratio):
    """Final scoring's refit with raters frozen (and the per-note loss ratio): same notes."""
    fit = fit_mf(dense, BASE)
    # Some raters left out: their ratings must not be used by either engine.
    raters = fit.raters.where("raterIdx % 7 != 0")
    cfg = replace(BASE, rating_per_note_loss_ratio=ratio)
    distributed = fit_notes_frozen(dense, raters, fit.global_intercept, cfg)
    in_memory = fit_notes_frozen(dense, raters, fit.global_intercept, replace(cfg, engine="auto"))
    assert in_memory.num_ratings == distributed.num_ratings < fit.num_ratings
    assert (in_memory.num_notes, in_memory.num_raters) == (distributed.num_notes, distributed.num_raters)
    assert in_memory.objective == pytest.approx(distributed.objective, rel=1e-9)
    x, y = (_table(r.notes, "noteIdx", ["intercept", "factor1"]) for r in (distributed, in_memory))
    np.testing.assert_array_equal(x.noteIdx, y.noteIdx)
    np.testing.assert_allclose(x[["intercept", "factor1"]], y[["intercept", "factor1"]], rtol=0, atol=1e-9)


def test_auto_picks_the_worker_up_to_the_size_limit(dense):
    size = dense.count()
    assert use_worker(dense, replace(BASE, engine="auto", worker_max_ratings=size))
    assert not use_worker(dense, replace(BASE, engine="auto", worker_max_ratings=size - 1))
    assert not use_worker(dense, BASE)  # the default engine is distributed
    assert use_worker(dense, replace(BASE, engine="worker", worker_max_ratings=1))


def test_a_model_within_the_limit_settles_auto_on_the_worker_once():
    auto = replace(BASE, engine="auto", worker_max_ratings=1000)
    assert settle_engine(auto, 1000).engine == "worker"
    assert settle_engine(auto, 1001) == auto  # a larger model: each fit still decides
    for fixed in ("distributed", "worker"):
        engine = replace(auto, engine=fixed)
        assert settle_engine(engine, 10) == engine


def test_bad_engine_settings_are_refused():
    with pytest.raises(ConfigError, match="engine"):
        MFConfig(engine="gpu")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="worker_max_ratings"):
        MFConfig(worker_max_ratings=0)


def test_an_empty_input_is_refused_by_both_engines(dense):
    empty = dense.limit(0)
    for engine in ("worker", "distributed"):
        with pytest.raises(ValueError, match="no ratings to fit"):
            fit_mf(empty, replace(BASE, engine=engine))
