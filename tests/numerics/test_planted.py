"""Planted truth is recovered: about 5k raters, 1k notes, 100k ratings through the MF stage."""

from __future__ import annotations

import numpy as np
import pytest

from cnscore.config import MFConfig
from cnscore.mf.stage import fit_mf_stage
from cnscore.preprocess import with_helpful_num
from cnscore.synthetic import generate, to_spark


@pytest.fixture(scope="module")
def planted(spark):
    data = generate(num_raters=5000, num_notes=1000, num_ratings=100_000, seed=1)
    ratings = with_helpful_num(to_spark(spark, data)["ratings"])
    stage = fit_mf_stage(spark, ratings, MFConfig(seed=11))
    notes = stage.note_params.toPandas().merge(data.truth_notes, on="noteId")
    raters = stage.rater_params.toPandas().merge(data.truth_raters, on="raterParticipantId")
    return stage, notes, raters


def test_note_intercepts_track_planted_quality(planted):
    _, notes, _ = planted
    assert len(notes) == 1000
    assert np.corrcoef(notes.internalNoteIntercept, notes.quality)[0, 1] >= 0.95


def test_factors_track_planted_viewpoints_up_to_sign(planted):
    stage, notes, raters = planted
    assert stage.fit.converged
    assert abs(np.corrcoef(notes.internalNoteFactor1, notes.viewpoint)[0, 1]) >= 0.9
    # A rater's factor is estimated from their own ratings: judge raters with at least 20
    # (median activity is ~11, so most raters carry too few ratings to place exactly).
    active = raters[raters.numRatings >= 20]
    assert len(active) >= 1000
    assert abs(np.corrcoef(active.internalRaterFactor1, active.viewpoint)[0, 1]) >= 0.9


def test_sign_rule_puts_most_raters_negative(planted):
    _, _, raters = planted
    factors = raters.internalRaterFactor1.to_numpy()
    assert np.sum(factors < 0) / np.count_nonzero(factors) >= 0.5
