"""The ReputationScorer's wiring details that need no Spark session (§5.8). Its Spark run is
checked against the reference on synthetic-30k (tests/scoring/test_golden_models.py)."""

from __future__ import annotations

import numpy as np
import yaml

from cnscore.config import MFConfig
from cnscore.scoring import multi_model, reputation_scorer
from cnscore.scoring.collect import as_reference_finds
from cnscore.scoring.combine import SKIPPED
from cnscore.scoring.models import load_models
from cnscore.scoring.reconcile import meta_rules, required_columns
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


def test_the_models_file_settings_reach_the_reputation_fit(monkeypatch):
    doc = yaml.safe_load(DEFAULT_MODELS_FILE.read_text())
    entry = next(m for m in doc["models"] if m["role"] == "reputation")
    entry["reputation_mf"] = {"l2": 0.02, "max_epochs": 40}
    spec = next(s for s in load_models(doc) if s.role == "reputation")
    received = {}

    def fake_score(prepared, mf, cfg, params=None):
        received["params"] = params
        return None  # as when no ratings are left: the model is skipped

    monkeypatch.setattr(reputation_scorer, "score_reputation", fake_score)
    outcome = multi_model._score_reputation(spec, prepared=None, mf=MFConfig(), started=0.0, wanted="5/10")
    assert outcome.state == SKIPPED
    assert (received["params"].l2, received["params"].max_epochs, received["params"].loss) == (0.02, 40, "mse")
