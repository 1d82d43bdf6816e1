"""The low-diligence model on Spark DataFrames (shared docs/reference.md §4.4.10, §4.5 step 4, §5.6).

Ratings are collected as dense ids and a 0/1 target (any of Incorrect, IrrelevantSources,
SourcesMissingOrUnreliable), sorted by id so the fit does not depend on partitioning, and
fitted in memory by cnscore.scoring.reputation_mf. Parameters come back as tables keyed by
public ids: the prescoring tables carry them to final scoring, whose note intercept feeds the
FilterLowDiligence rule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.columns import ParamCols, RatingCols
from cnscore.scoring import reputation_mf as rmf
from cnscore.scoring.collect import Collected, aligned, collect_ratings, note_init, params_frame

log = logging.getLogger(__name__)
P = ParamCols
NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
DILIGENCE_TAGS = ("notHelpfulIncorrect", "notHelpfulIrrelevantSources", "notHelpfulSourcesMissingOrUnreliable")

NOTE_INTERCEPT = "lowDiligenceNoteIntercept"
NOTE_FACTOR = "lowDiligenceNoteFactor1"
NOTE_INTERCEPT_ROUND2 = "lowDiligenceNoteInterceptRound2"
RATER_INTERCEPT = "lowDiligenceRaterIntercept"
RATER_FACTOR = "lowDiligenceRaterFactor1"
RATER_REPUTATION = "lowDiligenceRaterReputation"
RATER_INTERCEPT_ROUND2 = "lowDiligenceRaterInterceptRound2"
NOTE_COLUMNS = (NOTE_INTERCEPT, NOTE_FACTOR, NOTE_INTERCEPT_ROUND2)
RATER_COLUMNS = (RATER_INTERCEPT, RATER_FACTOR, RATER_REPUTATION, RATER_INTERCEPT_ROUND2)
GLOBAL_KEY = "lowDiligenceGlobalIntercept"  # in the prescoring meta: firstRound/secondRound/finalRound


@dataclass(frozen=True)
class DiligenceParams:
    """Prescoring output: notes (noteId + NOTE_COLUMNS), raters (raterParticipantId +
    RATER_COLUMNS) and mu of each round."""

    notes: DataFrame
    raters: DataFrame
    global_intercepts: dict


def target() -> Column:
    """1 when the rating has any of DILIGENCE_TAGS, else 0 (null tags count as 0)."""
    tagged = F.greatest(*[F.coalesce(F.col(t).cast("int"), F.lit(0)) for t in DILIGENCE_TAGS])
    return F.least(tagged, F.lit(1))


def _collect(ratings: DataFrame) -> Collected:
    return collect_ratings(ratings, target())


def prescore_diligence(final_round: DataFrame, rater_params: DataFrame, cfg: rmf.DiligenceConfig,
                       seed: int) -> DiligenceParams | None:
    """Fit the model on prescoring's second-round ratings, rater factors from the second-round
    helpfulness MF (rater_params: raterParticipantId, internalRaterFactor1). None when disabled
    or without ratings."""
    if not cfg.enabled:
        return None
    collected = _collect(final_round)
    data = collected.arrays
    if len(data.target) == 0:
        return None
    factors = rater_params.select(RATER_ID, F.col(f"{P.RATER_FACTOR_PREFIX}1").alias("f")).toPandas()
    fit = rmf.train_prescoring(data, aligned(collected.rater_ids, factors, RATER_ID, "f"), cfg, seed)
    log.info("low diligence prescoring: %d ratings, %d notes, %d raters, epochs %s, losses %s",
             len(data.target), data.num_notes, data.num_raters, fit.epochs, fit.losses)
    spark = final_round.sparkSession
    notes = pd.DataFrame({NOTE_ID: collected.note_ids.astype(np.int64), NOTE_INTERCEPT: fit.params[rmf.NOTE_BIAS],
                          NOTE_FACTOR: fit.params[rmf.NOTE_FACTOR], NOTE_INTERCEPT_ROUND2: fit.note_bias_round2})
    raters = pd.DataFrame({RATER_ID: collected.rater_ids.astype(str), RATER_INTERCEPT: fit.params[rmf.RATER_BIAS],
                           RATER_FACTOR: fit.params[rmf.RATER_FACTOR],
                           RATER_REPUTATION: fit.params[rmf.REPUTATION], RATER_INTERCEPT_ROUND2: fit.rater_bias_round2})
    return DiligenceParams(params_frame(spark, notes, f"{NOTE_ID} bigint", NOTE_COLUMNS),
                           params_frame(spark, raters, f"{RATER_ID} string", RATER_COLUMNS), fit.global_intercepts)


def final_diligence(selected: DataFrame, params: DiligenceParams, meta: dict,
                    cfg: rmf.DiligenceConfig, collected: Collected | None = None) -> DataFrame:
    """noteId, lowDiligenceNoteIntercept, lowDiligenceNoteFactor1 from final scoring's ratings,
    raters frozen at prescoring, penalties scaled by prescoring's final-round ratios (§3.2).
    Notes start where the reference's lookup finds them (`collect.as_reference_finds`): at 0
    for every id a double does not hold, which is what makes the final intercepts hardly
    depend on prescoring's random start.

    collected: `selected` already collected with `target()` (cnscore.scoring.local_estimates);
    None: collected here."""
    schema = f"{NOTE_ID} bigint, {NOTE_INTERCEPT} double, {NOTE_FACTOR} double"
    spark = selected.sparkSession
    collected = _collect(selected) if collected is None else collected
    data = collected.arrays
    if len(data.target) == 0:
        return spark.createDataFrame([], schema)
    notes = params.notes.toPandas()
    raters = params.raters.toPandas()
    init = rmf.FinalInit(
        note_factor=note_init(collected.note_ids, notes, NOTE_FACTOR),
        note_bias_round2=note_init(collected.note_ids, notes, NOTE_INTERCEPT_ROUND2),
        rater_factor=aligned(collected.rater_ids, raters, RATER_ID, RATER_FACTOR),
        rater_bias=aligned(collected.rater_ids, raters, RATER_ID, RATER_INTERCEPT),
        rater_bias_round2=aligned(collected.rater_ids, raters, RATER_ID, RATER_INTERCEPT_ROUND2),
        reputation=aligned(collected.rater_ids, raters, RATER_ID, RATER_REPUTATION),
    )
    num = meta["finalRoundNumRatings"]
    fitted, epochs = rmf.train_final(data, init, params.global_intercepts, cfg,
                                     note_ratio=num / meta["finalRoundNumNotes"],
                                     rater_ratio=num / meta["finalRoundNumUsers"])
    log.info("low diligence final: %d ratings, %d notes, epochs %s", len(data.target), data.num_notes, epochs)
    out = pd.DataFrame({NOTE_ID: collected.note_ids.astype(np.int64), NOTE_INTERCEPT: fitted[rmf.NOTE_BIAS],
                        NOTE_FACTOR: fitted[rmf.NOTE_FACTOR]})
    return spark.createDataFrame(out, schema).localCheckpoint(eager=True)
