"""The ReputationScorer (shared docs/reference.md §5.8): the "helpfulness reputation" model
behind the coverage* columns of scored_notes and raterHelpfulnessReputation.

What the reference's reputation_scorer.py and helpfulness_model.py settle beyond the spec:
- ratings: the model's population (conf/models.yml selection), then at least 5 ratings per
  note and 10 per rater (one back-and-forth, `filter_min_counts`), in both phases;
- stable init: a plain MF on the group-13 ratings of notes rated >= 75% by group 13 (the
  Core stable-init subset, `prescoring.stable_init_ratings`) gives the initial rater factors,
  0 where it has none; intercepts start at N(0, 1), reputation at 1;
- prescoring: the three rounds of `reputation_mf.train_prescoring` on helpfulNum with
  `HelpfulnessReputationConfig`; final scoring: `train_final` on the final ratings, from the
  prescoring raters (round-2 intercepts first), L2 as means (no loss ratios);
- note initial values (stable-init factors; prescoring's factors and round-2 intercepts in
  final scoring) go through the reference's lookup, which misses almost every note (see
  `as_reference_finds`): notes start at 0. The final intercepts depend on it (up to 0.04 on
  synthetic-30k), the prescoring ones hardly;
- notes: CRH when the final note intercept is strictly above crh_threshold, else NMR, output
  for the notes passing the capture share; no meta rule reads them. coverageNoteInterceptMin
  and Max stay null (the reference lists them but never fills them);
- raters: every rater of the prescoring fit with its reputation: helpfulness_scores reads
  each model's prescoring rater output (run_scoring's coalesced helpfulness scores), so a rater
  only final scoring sees has none.

Both phases run in memory on the driver (cnscore.scoring.reputation_mf), as the low-diligence
model does: a few hundred full-batch Adam epochs per round on three small arrays per rating.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import ParamCols, RatingCols
from cnscore.config import MFConfig
from cnscore.scoring import reputation_mf as rmf
from cnscore.scoring.collect import Collected, aligned, collect_ratings, note_init, params_frame
from cnscore.scoring.counts import filter_min_counts
from cnscore.scoring.fits import fit
from cnscore.scoring.pipeline import CoreInputs, capture
from cnscore.scoring.prescoring import stable_init_ratings
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status import CRH, NMR

log = logging.getLogger(__name__)
P = ParamCols
NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
ROLE = "reputation"  # conf/models.yml role of the models scored here
# The model's own columns, named like an MF model's so that outputs.model_columns maps them to
# <prefix>NoteIntercept / <prefix>NoteFactor1 / <prefix>RatingStatus.
NOTE_INTERCEPT, NOTE_FACTOR, STATUS = P.NOTE_INTERCEPT, f"{P.NOTE_FACTOR_PREFIX}1", "ratingStatus"
RATER_INTERCEPT, RATER_FACTOR = P.RATER_INTERCEPT, f"{P.RATER_FACTOR_PREFIX}1"
RATER_REPUTATION = "internalRaterReputation"
HELPFULNESS_REPUTATION = "raterHelpfulnessReputation"  # its helpfulness_scores column


@dataclass(frozen=True)
class ReputationResult:
    """notes: noteId, internalNoteIntercept, internalNoteFactor1, ratingStatus (captured notes);
    raters: raterParticipantId, internalRaterIntercept, internalRaterFactor1,
    internalRaterReputation (prescoring's raters, after its third round)."""

    notes: DataFrame
    raters: DataFrame
    epochs: tuple[int, ...]


def score_reputation(prepared: CoreInputs, mf: MFConfig, cfg: ScoringConfig,
                     params: rmf.ReputationMFConfig | None = None) -> ReputationResult | None:
    """Prescoring and final scoring of a reputation model on its prepared ratings.

    Args:
        prepared: the model's ratings (`pipeline.prepare_model` with its selection).
        mf: MF settings of the stable-init fit; `mf.seed` also seeds the initial intercepts.
        cfg: the model's ScoringConfig: count filters, stable init, crh_threshold, capture.
        params: the reputation MF's hyperparameters (None: the reference's,
            `HelpfulnessReputationConfig`; models.yml's `reputation_mf:` key overrides them).

    Returns:
        None when no ratings are left after the count filter in either phase (the reference
        returns an empty result then).
    """
    params = params or rmf.HelpfulnessReputationConfig()
    mf = prepared.mf_config(mf)
    pre = filter_min_counts(prepared.pre_model, cfg.min_ratings_per_note, cfg.min_ratings_per_rater)
    collected = collect_ratings(pre, F.col(RatingCols.HELPFUL_NUM))
    if len(collected.arrays.target) == 0:
        return None
    note_start, rater_start = _stable_factors(pre, prepared, mf, cfg, collected)
    fitted = rmf.train_prescoring(collected.arrays, rater_start, params, mf.seed, note_factor_init=note_start)
    log.info("reputation prescoring: %d ratings, %d notes, %d raters, epochs %s, losses %s",
             len(collected.arrays.target), collected.arrays.num_notes, collected.arrays.num_raters,
             fitted.epochs, fitted.losses)
    final = collect_ratings(filter_min_counts(prepared.final_model, cfg.min_ratings_per_note,
                                              cfg.min_ratings_per_rater), F.col(RatingCols.HELPFUL_NUM))
    if len(final.arrays.target) == 0:
        return None
    scored, epochs = rmf.train_final(final.arrays, _final_init(collected, fitted, final), fitted.global_intercepts,
                                     params, note_ratio=None, rater_ratio=None)
    log.info("reputation final: %d ratings, %d notes, epochs %s", len(final.arrays.target),
             final.arrays.num_notes, epochs)
    return ReputationResult(_notes(final, scored, prepared, cfg), _raters(collected, fitted.params, prepared),
                            (*fitted.epochs, *epochs))


def _stable_factors(pre: DataFrame, prepared: CoreInputs, mf: MFConfig, cfg: ScoringConfig,
                    collected: Collected) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Note and rater factors of the stable-init MF aligned to the fit's ids (NaN: none), or
    (None, None) without stable init or without stable-init ratings (random factors then)."""
    if not cfg.stable_init:
        return None, None
    subset = stable_init_ratings(pre, cfg).persist()
    try:
        if not subset.limit(1).count():
            log.warning("reputation stable init: no ratings from modeling group %d; random factors",
                        cfg.stable_init_group)
            return None, None
        init = fit(subset, prepared.ids, mf)
        notes = init.notes.select(NOTE_ID, NOTE_FACTOR).toPandas()
        raters = init.raters.select(RATER_ID, RATER_FACTOR).toPandas()
    finally:
        subset.unpersist()
    return (note_init(collected.note_ids, notes, NOTE_FACTOR),
            aligned(collected.rater_ids, raters, RATER_ID, RATER_FACTOR))


def _final_init(pre: Collected, fitted: rmf.PrescoringFit, final: Collected) -> rmf.FinalInit:
    """Prescoring's parameters in the final fit's dense order (NaN where prescoring lacks one,
    or where the reference's note lookup misses)."""
    notes = pd.DataFrame({NOTE_ID: pre.note_ids, "f": fitted.params[rmf.NOTE_FACTOR],
                          "i2": fitted.note_bias_round2})
    raters = pd.DataFrame({RATER_ID: pre.rater_ids, "f": fitted.params[rmf.RATER_FACTOR],
                           "i": fitted.params[rmf.RATER_BIAS], "i2": fitted.rater_bias_round2,
                           "rep": fitted.params[rmf.REPUTATION]})
    return rmf.FinalInit(
        note_factor=note_init(final.note_ids, notes, "f"),
        note_bias_round2=note_init(final.note_ids, notes, "i2"),
        rater_factor=aligned(final.rater_ids, raters, RATER_ID, "f"),
        rater_bias=aligned(final.rater_ids, raters, RATER_ID, "i"),
        rater_bias_round2=aligned(final.rater_ids, raters, RATER_ID, "i2"),
        reputation=aligned(final.rater_ids, raters, RATER_ID, "rep"),
    )


def _notes(final: Collected, scored: dict, prepared: CoreInputs, cfg: ScoringConfig) -> DataFrame:
    table = pd.DataFrame({NOTE_ID: final.note_ids.astype(np.int64), NOTE_INTERCEPT: scored[rmf.NOTE_BIAS],
                          NOTE_FACTOR: scored[rmf.NOTE_FACTOR]})
    notes = params_frame(prepared.ratings.sparkSession, table, f"{NOTE_ID} bigint", (NOTE_INTERCEPT, NOTE_FACTOR))
    # Strictly above: the reference's test.
    status = F.when(F.col(NOTE_INTERCEPT) > F.lit(cfg.crh_threshold), F.lit(CRH)).otherwise(F.lit(NMR))
    return capture(notes.withColumn(STATUS, status), prepared, cfg).localCheckpoint(eager=True)


def _raters(pre: Collected, fitted: dict, prepared: CoreInputs) -> DataFrame:
    table = pd.DataFrame({RATER_ID: pre.rater_ids.astype(str), RATER_INTERCEPT: fitted[rmf.RATER_BIAS],
                          RATER_FACTOR: fitted[rmf.RATER_FACTOR], RATER_REPUTATION: fitted[rmf.REPUTATION]})
    return params_frame(prepared.ratings.sparkSession, table, f"{RATER_ID} string",
                        (RATER_INTERCEPT, RATER_FACTOR, RATER_REPUTATION))
