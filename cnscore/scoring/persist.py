"""Prescoring results as tables and back, so final scoring can run as its own phase.

The job writes these tables after prescoring and reads them in a later final-scoring run;
nothing here knows where they live.
"""

from __future__ import annotations

import json

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from cnscore.scoring import diligence as dil
from cnscore.scoring import tag_consensus as tags
from cnscore.scoring.fits import ModelParams
from cnscore.scoring.prescoring import PrescoringResult

RATER_ID = "raterParticipantId"
TABLES = ("prescoring_note_params", "prescoring_rater_params", "prescoring_helpfulness",
          "prescoring_note_status", "prescoring_incorrect_propensity", "prescoring_meta")


def prescoring_tables(pre: PrescoringResult) -> dict[str, DataFrame]:
    """The prescoring result as named DataFrames (first- and second-round parameters side by side)."""
    spark = pre.helpfulness.sparkSession
    first_notes = pre.first_round.notes.select(
        "noteId", F.col("internalNoteIntercept").alias("firstRoundNoteIntercept"),
        F.col("internalNoteFactor1").alias("firstRoundNoteFactor1"))
    first_raters = pre.first_round.raters.select(
        RATER_ID, F.col("internalRaterIntercept").alias("firstRoundRaterIntercept"),
        F.col("internalRaterFactor1").alias("firstRoundRaterFactor1"))
    meta = {**pre.meta, "tagThresholds": pre.tag_thresholds}
    note_params = pre.second_round.notes.join(first_notes, "noteId", "full_outer")
    rater_params = pre.second_round.raters.join(first_raters, RATER_ID, "full_outer")
    if pre.diligence is not None:  # the low-diligence model's columns beside the MF's
        note_params = note_params.join(pre.diligence.notes, "noteId", "left")
        rater_params = rater_params.join(pre.diligence.raters, RATER_ID, "left")
    if pre.harassment is not None:
        note_params = note_params.join(pre.harassment, "noteId", "left")
    return {
        "prescoring_note_params": note_params,
        "prescoring_rater_params": rater_params,
        "prescoring_helpfulness": pre.helpfulness,
        "prescoring_note_status": pre.first_round_status,
        "prescoring_incorrect_propensity": pre.incorrect_propensity,
        "prescoring_meta": spark.createDataFrame([(json.dumps(meta, sort_keys=True),)], "meta string"),
    }


def load_prescoring(spark: SparkSession, tables: dict[str, DataFrame]) -> PrescoringResult:
    """Rebuild what final scoring reads from the tables `prescoring_tables` wrote."""
    missing = [name for name in TABLES if name not in tables]
    if missing:
        raise ValueError(f"prescoring tables missing: {missing} (run --phase prescoring first)")
    meta = json.loads(tables["prescoring_meta"].first()["meta"])
    thresholds = meta.pop("tagThresholds")
    notes, raters = tables["prescoring_note_params"], tables["prescoring_rater_params"]

    def params(note_cols, rater_cols, intercept_note, factor_note, intercept_rater, factor_rater):
        n = notes.where(F.col(note_cols[0]).isNotNull()).select(
            "noteId", "noteIdx", F.col(intercept_note).alias("internalNoteIntercept"),
            F.col(factor_note).alias("internalNoteFactor1")).localCheckpoint()
        r = raters.where(F.col(rater_cols[0]).isNotNull()).select(
            RATER_ID, "raterIdx", F.col(intercept_rater).alias("internalRaterIntercept"),
            F.col(factor_rater).alias("internalRaterFactor1")).localCheckpoint()
        return n, r

    n2, r2 = params(["internalNoteIntercept"], ["internalRaterIntercept"], "internalNoteIntercept",
                    "internalNoteFactor1", "internalRaterIntercept", "internalRaterFactor1")
    n1, r1 = params(["firstRoundNoteIntercept"], ["firstRoundRaterIntercept"], "firstRoundNoteIntercept",
                    "firstRoundNoteFactor1", "firstRoundRaterIntercept", "firstRoundRaterFactor1")
    second = ModelParams(n2, r2, meta["globalIntercept"], None)
    first = ModelParams(n1, r1, meta.get("firstRoundGlobalIntercept", float("nan")), None)
    diligence = None
    if dil.GLOBAL_KEY in meta:
        diligence = dil.DiligenceParams(
            notes.where(F.col(dil.NOTE_INTERCEPT).isNotNull()).select("noteId", *dil.NOTE_COLUMNS).localCheckpoint(),
            raters.where(F.col(dil.RATER_INTERCEPT).isNotNull()).select(RATER_ID, *dil.RATER_COLUMNS).localCheckpoint(),
            meta[dil.GLOBAL_KEY])
    harassment = None
    if tags.NOTE_INTERCEPT in notes.columns:
        harassment = notes.where(F.col(tags.NOTE_INTERCEPT).isNotNull()).select(
            "noteId", *tags.NOTE_COLUMNS).localCheckpoint()
    return PrescoringResult(first, second, tables["prescoring_note_status"], tables["prescoring_helpfulness"],
                            tables["prescoring_incorrect_propensity"], thresholds, meta, diligence, harassment)
