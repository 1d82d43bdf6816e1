"""The end-to-end benchmark's baseline: the reference's time for the models run here."""

import json

import pytest

from jobs.bench_scoring import per_model_lines, reference_lines, reference_time

MINE = {"MFCoreScorer", "GaussianScorer"}


def _summary(tmp_path, *, parallel=False, with_scorers=True):
    phases = [
        {"phase": "pss", "wall_s": 100.0, "scorer_minutes": {}, "blocks_s": {"Compute Quasi-Cliques": 80.0}},
        {"phase": "prescoring", "wall_s": 400.0,
         "scorer_minutes": {"MFCoreScorer": 1.0, "MFGroupScorer_13": 2.0} if with_scorers else {},
         "blocks_s": {"Note Topic Assignment": 3.0, "Fitting pflip model": 12.0, "Fitting PCRH model": 6.0}},
        {"phase": "final", "wall_s": 300.0,
         "scorer_minutes": {"MFCoreScorer": 0.5, "GaussianScorer": 1.5, "ReputationScorer": 0.25}
         if with_scorers else {},
         "blocks_s": {"Computing pflip scores.": 1.0, "Computing PCRH predictions.": 5.0}},
        {"phase": "contributor", "wall_s": 50.0},
    ]
    args = ["--seed", "42", *(["--parallel"] if parallel else [])]
    path = tmp_path / "run_summary.json"
    path.write_text(json.dumps({"phases": phases, "scorer_args": args}))
    return path


def test_other_scorers_and_side_models_are_taken_out(tmp_path):
    ref = reference_time(_summary(tmp_path))
    assert ref.total == pytest.approx(850.0)
    assert ref.side_model_seconds == pytest.approx(24.0)  # pflip and pCRH, both phases
    assert ref.scorer_seconds["MFCoreScorer"] == pytest.approx(90.0)  # summed over phases
    # 850 - group 13's 120 s - reputation's 15 s - pflip/pCRH's 24 s
    assert ref.for_models(MINE) == pytest.approx(691.0)
    lines = reference_lines(ref, "recorded", MINE, 345.5)
    assert lines[-1].startswith("speed-up on the same models: 2.0x")
    assert "2 other scorers" in lines[1]


def test_no_like_for_like_time_without_sequential_per_scorer_times(tmp_path):
    for ref in (reference_time(_summary(tmp_path, parallel=True)),
                reference_time(_summary(tmp_path, with_scorers=False))):
        assert ref.for_models(MINE) is None
        lines = reference_lines(ref, "recorded", MINE, 425.0)
        assert "against its whole run" in lines[-1] and "2.0x" in lines[-1]


def test_failed_reference_gives_no_ratio(tmp_path):
    lines = reference_lines(reference_time(_summary(tmp_path)), "run here, FAILED with exit code 1", MINE, 100.0)
    assert lines[-1] == "no ratio: the reference did not finish"


def test_per_model_lines_pair_each_model_with_the_reference_scorer(tmp_path):
    ref = reference_time(_summary(tmp_path))
    runs = {"MFCoreScorer": ("scored", 45.0), "GaussianScorer": ("scored", 90.0),
            "MFTopicScorer_Scams": ("skipped", 1.0)}
    lines = per_model_lines(ref, runs)
    assert len(lines) == 4
    assert "MFCoreScorer" in lines[1] and "90.0 s" in lines[1] and lines[1].endswith("2.0x")
    assert lines[2].endswith("1.0x")  # GaussianScorer: 90 s in both
    assert "not in its log" in lines[3]
    assert per_model_lines(reference_time(_summary(tmp_path, parallel=True)), runs) == []
