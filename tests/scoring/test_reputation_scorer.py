"""The ReputationScorer's wiring details that need no Spark session (§5.8). Its Spark run is
checked against the reference on synthetic-30k (tests/scoring/test_golden_models.py)."""

from __future__ import annotations

import numpy as np

from cnscore.scoring.reconcile import meta_rules, required_columns
from cnscore.scoring.collect import as_reference_finds
from jobs._models import DEFAULT_MODELS_FILE, load_models_file


def test_the_reference_finds_only_note_ids_a_double_holds_exactly():
    ids = np.array([100, 2**53 + 1, 2111358069770733315, 2**60, 2**60 + 256], dtype=np.int64)
    found = as_reference_finds(ids, np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    # Small ids and round ones are found; a typical snowflake noteId is not (it starts at 0).
    np.testing.assert_array_equal(np.isnan(found), [False, True, True, False, False])
    np.testing.assert_array_equal(found[[0, 3, 4]], [1.0, 4.0, 5.0])
    # Values missing before the lookup stay missing.
    assert np.isnan(as_reference_finds(np.array([7], dtype=np.int64), np.array([np.nan])))[0]


def test_no_meta_rule_reads_the_reputation_model():
    specs = load_models_file(DEFAULT_MODELS_FILE)
    core = [s for s in specs if s.role == "core"]
    every = [s for s in specs if s.role != "reputation"]
    for others in (core, every):
        with_reputation = [*others, *(s for s in specs if s.role == "reputation")]
        assert [r.label for r in meta_rules(with_reputation)] == [r.label for r in meta_rules(others)]
        assert required_columns(with_reputation) == required_columns(others)
