"""Final scoring's estimates from one collect (cnscore.scoring.local_estimates) against the
per-subset Spark path, on the golden synthetic-30k input: the same notes, statuses and numbers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from cnscore.config import load_config
from cnscore.io.tsv import read_input
from cnscore.scoring.final import score_final
from cnscore.scoring.gaussian_kernel import GaussianConfig
from cnscore.scoring.local_estimates import runs_in_memory
from cnscore.scoring.models import single_role
from cnscore.scoring.pipeline import prepare_core
from cnscore.scoring.prescoring import prescore
from jobs._models import load_models_file
from jobs.parity import FILES

SUBSETS = ("internalNoteInterceptNoHighVol", "internalNoteInterceptNoCorrelated",
           "internalNoteInterceptPopulationSampled")
BOUNDS = tuple(f"{p}_{s}" for p in ("internalNoteIntercept", "internalNoteFactor1")
               for s in ("min", "median", "max", "refit_orig"))
COMPARED = ("internalNoteIntercept", "internalNoteFactor1", *SUBSETS, *BOUNDS, "lowDiligenceNoteIntercept",
            "numFinalRoundRatings")


@pytest.fixture(scope="module")
def prescored(spark, shared_dir):
    """Core's prepared inputs, settled MF config, prescoring and scoring config; plus a set of
    raters called correlated (every 7th rater with ratings), so that subset differs from all."""
    golden = shared_dir / "data/golden/synthetic-30k/input"
    tables = {kind: read_input(spark, str(golden / name), kind).df for kind, name in FILES.items()}
    cfg = load_config([], [])
    core = single_role(load_models_file(), "core")
    prepared = prepare_core(tables, core.scoring, cfg.coordination, None)
    # The score job's engine (conf/score.yml), settled for the model's size as the job does.
    mf = prepared.mf_config(core.mf_config(dataclasses.replace(cfg.mf, engine="auto")))
    assert runs_in_memory(mf)  # a 30k-rating model is within worker_max_ratings
    pre = prescore(prepared.pre_model, prepared.history, prepared.ids, mf, core.scoring)
    raters = prepared.final_model.select("raterParticipantId").distinct().orderBy("raterParticipantId")
    correlated = spark.createDataFrame(raters.toPandas().iloc[::7], "raterParticipantId string")
    return prepared, mf, pre, core.scoring, correlated


def _scored(prescored, engine: str, gaussian: GaussianConfig | None) -> pd.DataFrame:
    prepared, mf, pre, scoring, correlated = prescored
    final = score_final(prepared.final_model, prepared.history, prepared.ids, pre,
                        dataclasses.replace(mf, engine=engine), scoring, correlated_raters=correlated,
                        gaussian=gaussian)
    columns = ["noteId", "ratingStatus", *[c for c in COMPARED if c in final.scored_notes.columns]]
    return final.scored_notes.select(*columns).toPandas().sort_values("noteId", ignore_index=True)


@pytest.mark.parametrize("gaussian", [None, GaussianConfig()], ids=["frozen-mf", "gaussian"])
def test_one_collect_gives_the_per_subset_results(prescored, gaussian):
    local = _scored(prescored, "worker", gaussian)
    spark_path = _scored(prescored, "auto", gaussian)  # "auto" is not settled: each subset on its own
    assert list(local.columns) == list(spark_path.columns)
    assert set(SUBSETS + BOUNDS) <= set(local.columns)
    assert local["noteId"].tolist() == spark_path["noteId"].tolist()
    assert len(local) > 300  # synthetic-30k: 374 scored notes
    assert (local["ratingStatus"] == spark_path["ratingStatus"]).all()
    for column in local.columns[2:]:
        ours, theirs = local[column].to_numpy(float), spark_path[column].to_numpy(float)
        assert np.array_equal(np.isnan(ours), np.isnan(theirs)), column
        # Frozen refits sum in another order (collected rows are sorted by dense id).
        assert np.allclose(ours, theirs, rtol=0, atol=1e-9, equal_nan=True), column
    # The correlated raters' subset is a real subset: its intercepts differ from the main fit's.
    both = local[["internalNoteIntercept", "internalNoteInterceptNoCorrelated"]].dropna()
    assert len(both) > 300 and (np.abs(both.iloc[:, 0] - both.iloc[:, 1]) > 1e-6).sum() > 30


def test_subset_with_no_ratings_is_left_out(prescored):
    prepared, mf, pre, scoring, _ = prescored
    organic = prepared.final_model.withColumn("ratingSourceBucketed", F.lit("DEFAULT"))
    final = score_final(organic, prepared.history, prepared.ids, pre, mf, scoring)
    assert "internalNoteInterceptPopulationSampled" not in final.scored_notes.columns
    assert {"internalNoteInterceptNoHighVol", "internalNoteInterceptNoCorrelated"} <= set(final.scored_notes.columns)
