"""Prescoring of one MF model (shared docs/reference.md §4.4).

Count filter, stable initialization, first-round MF, first-round statuses, valid ratings and
rater helpfulness, second-round MF on helpful raters, tag-filter thresholds and the raters'
Incorrect-tag propensity. The result is what final scoring needs, and every piece is a table.
Rater helpfulness is computed twice, as in the reference: without the harassment penalty, to
pick the ratings the harassment tag-consensus model learns from, then with the penalty that
model's note intercepts imply. The low-diligence model is fitted on the second-round ratings.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import EnrollmentCols, RatingCols
from cnscore.config import MFConfig
from cnscore.scoring import helpfulness, rules, tag_filter
from cnscore.scoring.tag_consensus import harassment_note_params
from cnscore.scoring.diligence import GLOBAL_KEY, DiligenceParams, prescore_diligence
from cnscore.scoring.counts import filter_min_counts
from cnscore.scoring.fits import IdSpace, ModelParams, fit
from cnscore.scoring.incorrect_filter import rater_incorrect_propensity
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status import CRH

log = logging.getLogger(__name__)
NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID


class TrainErrorTooHigh(RuntimeError):
    """The first-round fit's training error is above the reference's guard."""


@dataclass(frozen=True)
class PrescoringResult:
    """What final scoring reads, plus the intermediate tables for audit."""

    first_round: ModelParams
    second_round: ModelParams
    first_round_status: DataFrame  # noteId, ratingStatus, activeRules, internalNoteIntercept, ...
    helpfulness: DataFrame  # one row per participant (helpfulness_scores columns)
    incorrect_propensity: DataFrame
    tag_thresholds: dict[str, float]
    meta: dict  # globalIntercept, finalRoundNumRatings/Notes/Users, sweeps
    diligence: DiligenceParams | None = None  # the low-diligence model (None: disabled)
    harassment: DataFrame | None = None  # noteId, harassmentNoteIntercept/Factor1 (None: not fitted)


def stable_init_ratings(training: DataFrame, cfg: ScoringConfig) -> DataFrame:
    """Ratings by the stable-init group on notes rated mostly (>= 75%) by that group (§3.5).

    Raters without enrollment are left out of the shares, as the reference's inner merge does.
    """
    group = F.col(EnrollmentCols.MODELING_GROUP)
    enrolled = training.where(group.isNotNull()).withColumn("_in", (group == float(cfg.stable_init_group)).cast("int"))
    notes = enrolled.groupBy(NOTE_ID).agg(F.avg("_in").alias("_share"), F.count(F.lit(1)).alias("_n")).where(
        (F.col("_share") >= cfg.stable_init_group_share) & (F.col("_n") >= cfg.min_ratings_per_note))
    return enrolled.where(F.col("_in") == 1).join(notes.select(NOTE_ID), NOTE_ID, "left_semi").drop("_in")


def first_round_fit(training: DataFrame, ids: IdSpace, mf: MFConfig, cfg: ScoringConfig) -> ModelParams:
    """Round-1 MF, from a stable initialization when configured and possible."""
    if cfg.stable_init:
        subset = stable_init_ratings(training, cfg).persist()
        if subset.limit(1).count():
            # The reference fits the subset with a copy of the model's MF that drops the normalized
            # loss (get_new_mf_with_same_args): one plain round there.
            init = fit(subset, ids, dataclasses.replace(mf, normalized_loss=None))
            log.info("stable init: %d ratings, %d sweeps", init.result.num_ratings, init.result.sweeps)
            params = fit(training, ids, mf, init=init, global_intercept=init.global_intercept)
            subset.unpersist()
            return params
        log.warning("stable init: no ratings from modeling group %d; fitting from scratch", cfg.stable_init_group)
    return fit(training, ids, mf)


def check_train_error(params: ModelParams, cfg: ScoringConfig) -> None:
    result = params.result
    if result.num_notes >= cfg.min_notes_for_prod_checks and result.train_mse > cfg.max_first_round_train_error:
        raise TrainErrorTooHigh(f"first-round train MSE {result.train_mse:.4f} > {cfg.max_first_round_train_error} "
                                f"on {result.num_notes} notes")


def first_round_stats(ratings: DataFrame, history: DataFrame, params: ModelParams) -> DataFrame:
    """Per note with ratings: numRatings over all the model's ratings, history fields, params."""
    counts = ratings.groupBy(NOTE_ID).agg(F.count(F.lit(1)).alias("numRatings"))
    hist = history.select(NOTE_ID, "noteAuthorParticipantId", "classification", "currentStatus")
    return counts.join(hist, NOTE_ID, "left").join(
        params.notes.select(NOTE_ID, "internalNoteIntercept", "internalNoteFactor1"), NOTE_ID, "left")


def prescore(ratings: DataFrame, history: DataFrame, ids: IdSpace, mf: MFConfig,
             cfg: ScoringConfig) -> PrescoringResult:
    """Run prescoring for one model on its (densified, population-filtered) ratings."""
    training = filter_min_counts(ratings, cfg.min_ratings_per_note, cfg.min_ratings_per_rater).persist()
    round1 = first_round_fit(training, ids, mf, cfg)
    check_train_error(round1, cfg)
    status1 = rules.apply_rules(first_round_stats(ratings, history, round1),
                            rules.first_round_rules(cfg, with_ucb=False) + [rules.nm_crnh_rule(cfg)]).persist()
    if cfg.use_reputation:
        scores, harassment, final_round, round2 = _reputation_rounds(ratings, history, training, status1, round1,
                                                                     ids, mf, cfg)
    else:  # topic models: round 1 is the model; every rater with parameters counts as helpful
        scores, harassment, final_round, round2 = helpfulness.everyone_helpful(round1.raters), None, training, round1
    diligence = prescore_diligence(final_round, round2.raters, cfg.diligence, mf.seed)
    crh_notes = status1.where(F.col(rules.STATUS) == CRH).select(NOTE_ID)
    # Thresholds: round-1 CRH notes, round-2 factors, all of the model's ratings (§4.4.11).
    adjusted = tag_filter.adjusted_tag_ratios(ratings, round2.notes, round2.raters, cfg)
    thresholds = tag_filter.tag_thresholds(adjusted, crh_notes.join(round2.notes.select(NOTE_ID), NOTE_ID), cfg)
    meta = {
        "globalIntercept": round2.global_intercept,
        "firstRoundGlobalIntercept": round1.global_intercept,
        "finalRoundNumRatings": round2.result.num_ratings,
        "finalRoundNumNotes": round2.result.num_notes,
        "finalRoundNumUsers": round2.result.num_raters,
        "firstRoundSweeps": round1.result.sweeps,
        "secondRoundSweeps": round2.result.sweeps,
        "firstRoundTrainMse": round1.result.train_mse,
    }
    if diligence is not None:
        meta[GLOBAL_KEY] = diligence.global_intercepts
    training.unpersist()
    return PrescoringResult(round1, round2, status1, scores, rater_incorrect_propensity(ratings), thresholds, meta,
                            diligence, harassment)


def _reputation_rounds(ratings: DataFrame, history: DataFrame, training: DataFrame, status1: DataFrame,
                       round1: ModelParams, ids: IdSpace, mf: MFConfig, cfg: ScoringConfig):
    """Helpfulness (without, then with the harassment penalty) and the second-round MF on
    helpful raters (§4.4.5-4.4.9): (scores, harassment params, final-round ratings, round 2)."""
    # Checkpointed: both helpfulness passes read it (its windows ran twice otherwise).
    valid = helpfulness.valid_ratings(ratings, history, status1, cfg).localCheckpoint()
    unpenalized = helpfulness.helpfulness_scores(status1, valid, training, cfg).persist()
    harassment = harassment_note_params(
        training.join(helpfulness.above_threshold_raters(unpenalized), RATER_ID, "left_semi"), round1, cfg.harassment)
    scores = unpenalized
    if harassment is not None:
        scores = helpfulness.helpfulness_scores(status1, valid, training, cfg, harassment).persist()
        unpenalized.unpersist()
    helpful_raters = helpfulness.above_threshold_raters(scores)
    final_round = training.join(helpful_raters, RATER_ID, "left_semi").persist()
    return scores, harassment, final_round, fit(final_round, ids, mf, init=round1)


def final_mf_config(mf: MFConfig, meta: dict) -> MFConfig:
    """The frozen-rater config: per-note penalty rho * lambda with rho from prescoring."""
    rho = meta["finalRoundNumRatings"] / meta["finalRoundNumNotes"]
    return dataclasses.replace(mf, rating_per_note_loss_ratio=rho, flip_factors=False)
