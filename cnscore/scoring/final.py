"""Final scoring of one model (shared docs/reference.md §4.5, §4.6, §5.5).

Per-note estimates (frozen-rater MF refits, or the Gaussian scores for Gaussian models:
`cnscore.scoring.note_estimators`): without high-volume raters, without correlated
(quasi-clique) raters, on population-sampled ratings, and on all ratings; pseudo-rater bounds
(the reference's extreme pseudo-raters, or the bootstrap option);
the low-diligence model's note intercepts; tag, Incorrect and sign statistics; then the status
rules. For a model whose MF runs in memory, the estimates and the pseudo-rater refits come from
one collect of its ratings (`cnscore.scoring.local_estimates`); otherwise each is a Spark fit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import RatingCols
from cnscore.config import MFConfig
from cnscore.scoring import incorrect_filter, rules, tag_filter
from cnscore.scoring.diligence import NOTE_INTERCEPT as DILIGENCE_INTERCEPT
from cnscore.scoring.diligence import final_diligence
from cnscore.scoring.diligence import target as diligence_target
from cnscore.scoring.counts import FINAL_MIN_RATINGS_PER_NOTE, filter_min_counts
from cnscore.scoring.fits import IdSpace
from cnscore.scoring.gaussian_kernel import GaussianConfig
from cnscore.scoring.local_estimates import LocalEstimates, Subset, estimate_in_memory, runs_in_memory
from cnscore.scoring.note_estimators import NUM_FINAL_ROUND_RATINGS, NoteEstimator, note_estimator
from cnscore.scoring.prescoring import PrescoringResult, final_mf_config
from cnscore.scoring.pseudo_bootstrap import SCHEMA as BOOTSTRAP_SCHEMA
from cnscore.scoring.pseudo_bootstrap import bootstrap_bounds
from cnscore.scoring.pseudo_raters import pseudo_rater_bounds, pseudo_rater_bounds_local
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.sign_counts import (NEG_POPULATION_SAMPLED, POS_POPULATION_SAMPLED,
                                         population_sampled_sign_counts, sign_counts)

log = logging.getLogger(__name__)
NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
POPULATION_SAMPLED = "POPULATION_SAMPLED"
_CORRELATED = "_correlatedRater"
_DILIGENCE_TARGET = "_diligenceTarget"


@dataclass(frozen=True)
class FinalResult:
    scored_notes: DataFrame  # one row per note the model outputs: params, stats, status, explanation
    final_raters: DataFrame  # raters whose parameters were used (frozen, or refitted by a normalized loss)
    pseudo_bounds: DataFrame  # noteId and the pseudo-rater min/median/max/refit_orig columns
    final_round_ratings: int
    pseudo_bootstrap: DataFrame  # noteId and the bootstrap LCB/UCB/mean/runs (empty unless in bootstrap mode)


def final_round_ratings(ratings: DataFrame, pre: PrescoringResult) -> DataFrame:
    """Notes with >= 5 ratings, raters with prescoring parameters above the helpfulness threshold."""
    counted = filter_min_counts(ratings, FINAL_MIN_RATINGS_PER_NOTE, 0)
    helpful = pre.helpfulness.where(F.col("aboveHelpfulnessThreshold")).select(RATER_ID)
    with_params = pre.second_round.raters.select(RATER_ID)
    return counted.join(with_params, RATER_ID, "left_semi").join(helpful, RATER_ID, "left_semi")


def variant_intercepts(ratings: DataFrame, pre: PrescoringResult, estimator: NoteEstimator, cfg: MFConfig,
                       name: str) -> DataFrame:
    """noteId, <name>: the note intercept the model's estimator gives on these ratings' final
    round (a frozen-rater MF refit, or the Gaussian scores)."""
    selected = final_round_ratings(ratings, pre)
    if not selected.limit(1).count():
        return ratings.sparkSession.createDataFrame([], f"{NOTE_ID} bigint, {name} double")
    return estimator.intercepts(selected, cfg).select(NOTE_ID, F.col("internalNoteIntercept").alias(name))


def subsets(ratings: DataFrame, correlated_raters: DataFrame | None, mf: MFConfig, final_cfg: MFConfig,
            cfg: ScoringConfig) -> tuple[DataFrame, list[Subset]]:
    """(ratings flagged as the subsets read them, the subsets): without high-volume raters,
    without correlated raters, population-sampled ratings (when there are any)."""
    flagged, independent = ratings, F.lit(True)
    if correlated_raters is not None:
        flagged = ratings.join(F.broadcast(correlated_raters.distinct().withColumn(_CORRELATED, F.lit(True))),
                               RATER_ID, "left")
        independent = F.col(_CORRELATED).isNull()
    sampled_cfg = final_mf_config(mf, {"finalRoundNumRatings": cfg.population_sampled_loss_ratio,
                                       "finalRoundNumNotes": 1})
    return flagged, [
        Subset("internalNoteInterceptNoHighVol", ~F.col("highVolumeRater"), final_cfg),
        Subset("internalNoteInterceptNoCorrelated", independent, final_cfg),
        Subset("internalNoteInterceptPopulationSampled", F.col(RatingCols.RATING_SOURCE) == POPULATION_SAMPLED,
               sampled_cfg, optional=True),
    ]


def score_final(ratings: DataFrame, history: DataFrame, ids: IdSpace, pre: PrescoringResult, mf: MFConfig,
                cfg: ScoringConfig, *, correlated_raters: DataFrame | None = None,
                gaussian: GaussianConfig | None = None) -> FinalResult:
    """Run final scoring for one model.

    ratings: the model's densified ratings, with highVolumeRater (bool) and ratingSourceBucketed.
    pre: the prescoring the model reads (its own, or Core's for models whose prescoring is
        Core's; then `ids` must share Core's rater indices).
    correlated_raters: raterParticipantId of quasi-clique members (None: nobody).
    gaussian: the Gaussian scorer's settings when the model's final algorithm is Gaussian
        (§5.5): its scores replace the frozen-rater refits' intercepts; None: MF.
    """
    final_cfg = final_mf_config(mf, pre.meta)
    estimator = note_estimator(ids, pre, history, gaussian)
    flagged, wanted = subsets(ratings, correlated_raters, mf, final_cfg, cfg)
    selected = final_round_ratings(ratings, pre).persist()
    local = None
    if runs_in_memory(final_cfg):  # one collect for every estimate (cnscore.scoring.local_estimates)
        extra_columns = {} if pre.diligence is None else {_DILIGENCE_TARGET: diligence_target()}
        local = estimate_in_memory(flagged, pre, estimator, wanted, final_cfg, extra_columns)
        fitted, extra = local.fit, [local.subsets]
    else:
        extra = [variant_intercepts(flagged.where(s.keep), pre, estimator, s.cfg, s.name) for s in wanted
                 if not s.optional or flagged.where(s.keep).limit(1).count()]
        fitted = estimator.final_fit(selected, final_cfg)
    # The prescoring raters, or a normalized-loss refit's: the reference's note stats and rater
    # output read the final fit's raters.
    raters = fitted.raters.join(selected.select(RATER_ID).distinct(), RATER_ID, "left_semi").persist()
    notes, mu = fitted.notes, fitted.global_intercept
    spark = notes.sparkSession
    bounds = spark.createDataFrame([], f"{NOTE_ID} bigint")
    bootstrap = spark.createDataFrame([], BOOTSTRAP_SCHEMA)
    # The mode picks one pseudo-rater stage; both tables are always returned, empty when not run.
    if cfg.uses_bootstrap:
        bootstrap = bootstrap_bounds(selected, ids, raters, mu, mf, cfg.pseudo_bootstrap).localCheckpoint()
        notes = notes.join(bootstrap, NOTE_ID, "left")
    elif cfg.pseudo_raters:
        bounds = (pseudo_rater_bounds(selected, ids, raters, mu, mf).localCheckpoint() if local is None
                  else pseudo_rater_bounds_local(local.ratings, local.selected, mf, spark))
        notes = notes.join(bounds, NOTE_ID, "left")
    for table in extra:
        notes = notes.join(table, NOTE_ID, "left")
    # Checkpointed: the note stats read this join chain three times (tag ratios, Incorrect
    # stats, the stats join); unmaterialized, each reading planned and ran it again.
    notes = notes.join(_diligence_intercepts(selected, pre, cfg, ids, local), NOTE_ID, "left").localCheckpoint()
    stats = _note_stats(ratings, history, notes, raters, pre, cfg)
    counted = estimator.final_round_counts(ratings)
    if counted is not None:
        stats = stats.drop(NUM_FINAL_ROUND_RATINGS).join(counted, NOTE_ID, "left")
    rule_list = (rules.first_round_rules(cfg, with_ucb=cfg.pseudo_raters) + [rules.ratio_crnh_rule(cfg),
                 rules.nm_crnh_rule(cfg)] + rules.final_round_rules(cfg, with_lcb=cfg.uses_bootstrap))
    # Checkpointed: the rule chain is a deep plan, and post-scoring joins it several times.
    scored = rules.apply_rules(stats, rule_list).localCheckpoint()
    count = selected.count()
    selected.unpersist()
    return FinalResult(scored, raters, bounds, count, bootstrap)


def _diligence_intercepts(selected: DataFrame, pre: PrescoringResult, cfg: ScoringConfig, ids: IdSpace,
                          local: LocalEstimates | None) -> DataFrame:
    """noteId, lowDiligenceNoteIntercept (all null when prescoring ran without the model);
    from the in-memory estimates' collect when there is one."""
    if pre.diligence is None:
        return selected.select(NOTE_ID).distinct().withColumn(DILIGENCE_INTERCEPT, F.lit(None).cast("double"))
    collected = None if local is None else local.selected_arrays(_DILIGENCE_TARGET, ids.rater_ids.toPandas())
    return final_diligence(selected, pre.diligence, pre.meta, cfg.diligence, collected).select(
        NOTE_ID, DILIGENCE_INTERCEPT)


def _note_stats(ratings, history, notes, raters, pre: PrescoringResult, cfg: ScoringConfig) -> DataFrame:
    counts = ratings.groupBy(NOTE_ID).agg(F.count(F.lit(1)).alias("numRatings"))
    hist = history.select(NOTE_ID, "noteAuthorParticipantId", "classification", "currentStatus",
                          F.col("createdAtMillis").alias("noteCreatedAtMillis"))
    adjusted = tag_filter.adjusted_tag_ratios(ratings, notes, raters, cfg).localCheckpoint()  # read twice
    hits = tag_filter.tag_filter_hits(adjusted, pre.tag_thresholds, cfg)
    incorrect = incorrect_filter.incorrect_interval_stats(ratings, notes, raters, pre.incorrect_propensity, cfg)
    stats = (counts.join(hist, NOTE_ID, "left").join(notes, NOTE_ID, "left")
             .join(sign_counts(ratings, raters), NOTE_ID, "left")
             .join(population_sampled_sign_counts(ratings, raters), NOTE_ID, "left")
             .join(adjusted, NOTE_ID, "left").join(hits, NOTE_ID, "left").join(incorrect, NOTE_ID, "left"))
    return stats.select(
        "*",
        F.col("activeFilterTags").isNotNull().alias("tagFilterFires"),
        incorrect_filter.incorrect_filter_fires(cfg).alias("incorrectFilterFires"),
        incorrect_filter.incorrect_filter_detail(cfg).alias("incorrectFilterDetail"),
        # Ratings by raters with final parameters (the reference's numFinalRoundRatings).
        (F.coalesce("negFactorRatingCount", F.lit(0)) + F.coalesce("posFactorRatingCount", F.lit(0)))
        .alias(NUM_FINAL_ROUND_RATINGS),
    ).fillna({"minSignCount": 0, "netMinHelpful": 0, "netMinHelpfulRatio": 0.0, NEG_POPULATION_SAMPLED: 0,
              POS_POPULATION_SAMPLED: 0})
