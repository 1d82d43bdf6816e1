"""The main job end to end: embedded default, real 2021 TSVs, Delta and Parquet outputs,
and the same job under spark-submit on a local cluster (separate executor JVMs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable

from cnscore.config import ConfigError, ScoreConfig
from jobs import score

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--set", "synthetic.num_raters=300", "--set", "synthetic.num_notes=80",
         "--set", "synthetic.num_ratings=4000", "--set", "mf.tolerance=1e-9"]
MF_ONLY = [*SMALL, "--phase", "mf"]  # the bare MF fit (no scoring rules)
TABLES = {"note_params", "rater_params", "global_params", "rater_ids", "note_ids", "run_metadata"}


@pytest.fixture(scope="module")
def default_run(spark, tmp_path_factory):
    out = tmp_path_factory.mktemp("default")
    assert score.main(["--outdir", str(out), *MF_ONLY]) == 0
    return out


def test_default_run_writes_versioned_delta_tables(default_run):
    tables = default_run / "tables"
    assert {p.name for p in tables.iterdir()} == TABLES
    for name in TABLES:
        table = DeltaTable(str(tables / name))
        assert table.version() == 0
        assert table.to_pyarrow_table().num_rows > 0 or name in {
            "coordination_pairs", "coordination_groups", "quasi_cliques"}  # none planted here
    notes = DeltaTable(str(tables / "note_params")).to_pandas()
    assert list(notes.columns) == ["noteId", "internalNoteIntercept", "internalNoteFactor1", "numRatings"]
    assert len(notes) == 80 and notes.numRatings.sum() == 4000


def test_run_metadata_records_config_counts_and_fingerprint(default_run):
    meta = DeltaTable(str(default_run / "tables" / "run_metadata")).to_pandas().iloc[0]
    config = json.loads(meta.config)
    assert config["mf"]["tolerance"] == 1e-9 and meta.seed == config["mf"]["seed"]
    counts = json.loads(meta.rowCounts)
    assert counts["fit"]["ratings"] == 4000
    assert meta.inputFingerprint.startswith("4000:")
    glob = DeltaTable(str(default_run / "tables" / "global_params")).to_pandas().iloc[0]
    assert meta.sweeps == glob.sweeps and meta.finalObjective == pytest.approx(glob.objective)


def test_same_seed_same_tables_in_parquet(spark, default_run, tmp_path):
    assert score.main(["--outdir", str(tmp_path), "--format", "parquet", *MF_ONLY]) == 0
    again = pd.read_parquet(tmp_path / "tables" / "note_params").sort_values("noteId")
    first = DeltaTable(str(default_run / "tables" / "note_params")).to_pandas().sort_values("noteId")
    np.testing.assert_allclose(again.internalNoteIntercept, first.internalNoteIntercept, atol=1e-12)


def test_real_2021_snapshot_through_the_job(spark, shared_dir, tmp_path):
    src = shared_dir / "data/real/colinfraser-birdwatch_data_guide"
    rc = score.main(["--ratings", str(src / "ratings-00000.tsv"), "--notes", str(src / "notes-00000.tsv"),
                     "--outdir", str(tmp_path), "--format", "parquet", "--phase", "mf"])
    assert rc == 0
    meta = pd.read_parquet(tmp_path / "tables" / "run_metadata").iloc[0]
    counts = json.loads(meta.rowCounts)
    assert counts["inputs"]["ratings"]["rows_read"] == 13559
    assert counts["inputs"]["notes"]["rows_read"] == 4880
    # Independently: ratings with a label (helpful or notHelpful set; SOURCES.md notes that
    # rows with neither are dropped by the scorer) and the notes they touch.
    raw = pd.read_csv(src / "ratings-00000.tsv", sep="\t", dtype={"participantId": str})
    labelled = raw[(raw.helpful == 1) | (raw.notHelpful == 1)]
    assert counts["fit"]["ratings"] == len(labelled)
    notes = pd.read_parquet(tmp_path / "tables" / "note_params")
    assert set(notes.noteId) == set(labelled.noteId)
    assert notes.numRatings.sum() == len(labelled)
    assert np.isfinite(notes.internalNoteIntercept).all()


@pytest.mark.slow
def test_spark_submit_on_local_cluster_matches_in_process(default_run, tmp_path):
    """Executors in separate JVMs; same seed must give the same parameters."""
    spark_submit = Path(sys.executable).parent / "spark-submit"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    cmd = [str(spark_submit), "--master", "local-cluster[2,1,1024]", "--conf", "spark.ui.enabled=false",
           str(REPO / "jobs" / "score.py"), "--outdir", str(tmp_path), "--format", "parquet", *MF_ONLY]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cnscore: scored 4000 ratings" in proc.stdout
    remote = pd.read_parquet(tmp_path / "tables" / "note_params").sort_values("noteId")
    local = DeltaTable(str(default_run / "tables" / "note_params")).to_pandas().sort_values("noteId")
    np.testing.assert_allclose(remote.internalNoteIntercept, local.internalNoteIntercept, atol=1e-9)
    np.testing.assert_allclose(remote.internalNoteFactor1, local.internalNoteFactor1, atol=1e-9)


def test_qsmf_model_adds_quality_sensitivity(spark, tmp_path):
    args = ["--outdir", str(tmp_path), "--format", "parquet", "--mf-model", "qsmf",
            "--set", "mf.qs_rounds=2", *MF_ONLY]
    assert score.main(args) == 0
    raters = pd.read_parquet(tmp_path / "tables" / "rater_params")
    assert "qualitySensitivity" in raters.columns
    assert (raters.qualitySensitivity >= 0).all()
    assert raters.qualitySensitivity.mean() == pytest.approx(1.0, abs=1e-9)


def test_pss_phase_writes_only_the_rater_flags(spark, tmp_path):
    assert score.main(["--outdir", str(tmp_path), "--format", "parquet", "--phase", "pss", *SMALL]) == 0
    assert {p.name for p in (tmp_path / "tables").iterdir()} == {
        "rater_flags", "coordination_pairs", "coordination_groups", "quasi_cliques", "coordination_summary"}
    flags = pd.read_parquet(tmp_path / "tables" / "rater_flags")
    assert {"raterParticipantId", "isHighVolume", "postSelectionGroupId", "quasiCliqueId"} <= set(flags.columns)
    assert flags.raterParticipantId.is_unique and len(flags) > 200  # every rater, flagged or not


@pytest.fixture(scope="module")
def scored_run(spark, tmp_path_factory):
    """The full pipeline on the embedded default, as `make demo` runs it (no coordination here:
    the golden-set tests run that)."""
    out = tmp_path_factory.mktemp("scored")
    assert score.main(["--outdir", str(out), "--format", "parquet", "--skip-pss", *SMALL]) == 0
    return out


def test_full_run_writes_the_reference_tsvs_and_stage_tables(scored_run):
    for name in ("scored_notes", "helpfulness_scores", "note_status_history", "aux_note_info"):
        tsv = pd.read_csv(scored_run / f"{name}.tsv", sep="\t")
        assert len(tsv) > 0, name
        assert (scored_run / "tables" / name).is_dir()
    scored = pd.read_csv(scored_run / "scored_notes.tsv", sep="\t")
    assert len(scored.columns) == 99 and scored.noteId.is_unique and len(scored) == 80
    assert scored.coreRatingStatus.notna().sum() > 0
    for name in ("prescoring_meta", "core_scored_notes", "core_pseudo_rater_bounds", "note_explanations"):
        assert (scored_run / "tables" / name).is_dir(), name


def test_prescoring_and_final_as_separate_phases_match_one_run(scored_run, tmp_path):
    common = ["--outdir", str(tmp_path), "--format", "parquet", "--skip-pss", *SMALL]
    assert score.main([*common, "--phase", "prescoring"]) == 0
    assert not (tmp_path / "scored_notes.tsv").exists()
    assert score.main([*common, "--phase", "final"]) == 0
    split = pd.read_parquet(tmp_path / "tables" / "core_scored_notes").sort_values("noteId", ignore_index=True)
    whole = pd.read_parquet(scored_run / "tables" / "core_scored_notes").sort_values("noteId", ignore_index=True)
    assert list(split.noteId) == list(whole.noteId)
    assert list(split.ratingStatus) == list(whole.ratingStatus)
    np.testing.assert_allclose(split.internalNoteIntercept, whole.internalNoteIntercept, atol=1e-12)


def test_rater_flags_passed_in_reach_the_models(monkeypatch, tmp_path):
    """The benchmark passes coordination's flags without a table to read them from."""
    from jobs import _scoring

    seen = {}

    def capture(tables, specs, mf, coordination, *, rater_flags, parallelism):
        seen["flags"] = rater_flags
        raise StopIteration

    monkeypatch.setattr(_scoring, "run_models", capture)
    for read_flags in (False, True):
        with pytest.raises(StopIteration):
            _scoring.run_scoring(None, "all", {"notes": None, "ratings": None}, ScoreConfig(),
                                 str(tmp_path), epoch_millis=1, rater_flags="FLAGS", read_flags=read_flags)
        assert seen.pop("flags") == "FLAGS", read_flags


def test_final_phase_without_prescoring_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="prescoring"):
        score.main(["--outdir", str(tmp_path), "--format", "parquet", "--skip-pss", *SMALL, "--phase", "final"])


def test_rerun_reads_the_earlier_run_and_refuses_another_selection(scored_run, tmp_path):
    """The wiring of --rerun (cnscore/scoring/rerun.py has the planted rerun itself): it reads
    every table the earlier --phase all run wrote, and that run selected Core only."""
    out = tmp_path / "run"
    shutil.copytree(scored_run, out)
    common = ["--outdir", str(out), "--format", "parquet", "--skip-pss", *SMALL]
    with pytest.raises(ConfigError, match="earlier run selected"):
        score.main([*common, "--set", "models.run=[core,group]", "--rerun", "MFGroupScorer_1"])
    with pytest.raises(SystemExit, match="--phase all"):
        score.main([*common, "--phase", "final", "--rerun", "MFGroupScorer_1"])
