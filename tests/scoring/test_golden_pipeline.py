"""The whole pipeline through the job on the golden sets: parity with the reference scorer.

The issue's bar: Core status agreement with the reference at least the reference's own
agreement between two seeds minus 1 point, and corr(coreNoteIntercept) >= 0.98. Self-agreement
(shared data/golden/README.md): 0.99957 on birdwatch-2021-03, 1.0 on synthetic-30k.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jobs.parity import compare, diligence_agreement
from tests.scoring.golden import run_job

SELF_AGREEMENT = {"synthetic-30k": 1.0, "birdwatch-2021-03": 0.99957}
TSVS = ("scored_notes", "helpfulness_scores", "note_status_history", "aux_note_info")

# synthetic_run (tests/scoring/conftest.py): one job on synthetic-30k with every model.


@pytest.fixture(scope="module")
def birdwatch_run(spark, shared_dir, tmp_path_factory):
    golden = shared_dir / "data/golden/birdwatch-2021-03"
    # The golden run used the reference's --skip-pss (its PSS phase crashes on this data).
    return golden, run_job(golden, tmp_path_factory.mktemp("bw2021"), 1616630400000, "--skip-pss")


def _parity(golden: Path, out: Path) -> dict:
    ours = pd.read_parquet(out / "tables" / "core_scored_notes")
    ref = pd.read_csv(golden / "seed42" / "scored_notes.tsv", sep="\t")
    stats, _ = compare(ours[["noteId", "ratingStatus", "internalNoteIntercept", "internalNoteFactor1",
                             "activeRules", "explanation"]], ref)
    return stats


def test_synthetic_parity_with_the_reference(synthetic_run):
    stats = _parity(*synthetic_run)
    assert stats["intercepts_compared"] >= 250
    assert stats["status_agreement"] >= SELF_AGREEMENT["synthetic-30k"] - 0.01, stats
    assert stats["intercept_corr"] >= 0.98, stats


def test_birdwatch_parity_meets_the_issue_bar(birdwatch_run):
    stats = _parity(*birdwatch_run)
    assert stats["notes_with_a_status"] >= 2300
    assert stats["status_agreement"] >= SELF_AGREEMENT["birdwatch-2021-03"] - 0.01, stats
    assert stats["intercept_corr"] >= 0.98, stats


# The low-diligence fit starts from random draws (as the reference's). The reference's two golden
# runs agree with r = 0.927 on birdwatch-2021-03 (16 notes on opposite sides of 0.263) and
# r = 0.9997 on synthetic-30k; on synthetic-30k our runs with seeds 42, 1 and 2 agreed with each
# other at r = 0.986-0.995 and with the reference at 0.977-0.988 (measured 2026-11-22). Since
# final scoring starts notes where the reference's lookup finds them (at 0 for these ids), seed
# 42 gives r = 0.988 against the reference's seed 42 (0.977 before) and 0.990 against seed 7.
@pytest.mark.parametrize("fixture, min_corr", [("birdwatch_run", 0.9), ("synthetic_run", 0.98)])
def test_low_diligence_intercepts_track_the_reference(request, fixture, min_corr):
    golden, out = request.getfixturevalue(fixture)
    ours = pd.read_parquet(out / "tables" / "core_scored_notes", columns=["noteId", "lowDiligenceNoteIntercept"])
    stats = diligence_agreement(ours, golden / "seed42")
    assert stats["compared"] >= 250, stats
    assert stats["corr"] >= min_corr, stats


@pytest.mark.parametrize("name", TSVS)
def test_reference_tsvs_have_the_reference_columns(synthetic_run, name):
    golden, out = synthetic_run
    ours = pd.read_csv(out / f"{name}.tsv", sep="\t", nrows=5)
    ref = pd.read_csv(golden / "seed42" / f"{name}.tsv", sep="\t", nrows=5)
    assert list(ours.columns) == list(ref.columns)


def test_one_row_per_note_and_history_matches_the_reference(synthetic_run):
    golden, out = synthetic_run
    ours = pd.read_csv(out / "note_status_history.tsv", sep="\t")
    ref = pd.read_csv(golden / "seed42" / "note_status_history.tsv", sep="\t")
    assert ours.noteId.is_unique and set(ours.noteId) == set(ref.noteId)
    merged = ref.merge(ours, on="noteId", suffixes=("_ref", "_ours"))
    # Compare the Core status (its own column in the history).
    assert (merged.currentCoreStatus_ref.fillna("") == merged.currentCoreStatus_ours.fillna("")).mean() >= 0.99


def test_every_note_has_an_explanation(synthetic_run):
    _, out = synthetic_run
    why = pd.read_parquet(out / "tables" / "note_explanations")
    scored = pd.read_csv(out / "scored_notes.tsv", sep="\t")
    assert set(why.noteId) == set(scored.noteId)
    assert why.explanation.str.len().gt(0).all()
    crh = why[why.coreRatingStatus == "CURRENTLY_RATED_HELPFUL"]
    assert len(crh) > 0 and crh.explanation.str.contains(r"GeneralCRH: intercept 0\.\d{3} >= 0\.4").all()
    assert np.isin(why.finalRatingStatus.unique(),
                   ["CURRENTLY_RATED_HELPFUL", "CURRENTLY_RATED_NOT_HELPFUL", "NEEDS_MORE_RATINGS"]).all()
